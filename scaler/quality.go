package scaler

import (
	"image"
	"image/draw"
	"math"
)

// Fidelity compares a resized image with a reference of the same size: the
// PSNR of luma in decibels (higher is closer; identical images give +Inf)
// and the mean SSIM of luma over 8x8 windows (1 is identical). Luma only,
// because a JPEG variant's chroma is subsampled 4:2:0 by the encoder
// whatever the resizer did, and a plane resizer that keeps 4:2:0 would
// otherwise be charged for detail no output carries. Benchmarks use
// it to rank filters against x/image/draw's Catmull-Rom; it is exported so
// that tools outside the package (bench/scaler) score other resizers the
// same way.
func Fidelity(got, ref image.Image) (psnr, ssim float64) {
	a, b := toRGBA(got), toRGBA(ref)
	if a.Rect.Size() != b.Rect.Size() {
		return 0, 0
	}
	la, lb := luma(a), luma(b)
	var se float64
	for i := range la {
		d := la[i] - lb[i]
		se += d * d
	}
	if se == 0 {
		psnr = math.Inf(1)
	} else {
		psnr = 10 * math.Log10(255*255/(se/float64(len(la))))
	}
	return psnr, meanSSIM(la, lb, a.Rect.Dx(), a.Rect.Dy())
}

func toRGBA(img image.Image) *image.RGBA {
	if m, ok := img.(*image.RGBA); ok && m.Rect.Min == (image.Point{}) {
		return m
	}
	b := img.Bounds()
	m := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(m, m.Rect, img, b.Min, draw.Src)
	return m
}

func luma(m *image.RGBA) []float64 {
	out := make([]float64, 0, len(m.Pix)/4)
	for i := 0; i < len(m.Pix); i += 4 {
		out = append(out, 0.299*float64(m.Pix[i])+0.587*float64(m.Pix[i+1])+0.114*float64(m.Pix[i+2]))
	}
	return out
}

func meanSSIM(x, y []float64, w, h int) float64 {
	const (
		win = 8
		c1  = (0.01 * 255) * (0.01 * 255)
		c2  = (0.03 * 255) * (0.03 * 255)
	)
	var sum float64
	n := 0
	for y0 := 0; y0+win <= h; y0 += win {
		for x0 := 0; x0+win <= w; x0 += win {
			var mx, my, vx, vy, cov float64
			for j := y0; j < y0+win; j++ {
				for i := x0; i < x0+win; i++ {
					mx += x[j*w+i]
					my += y[j*w+i]
				}
			}
			mx /= win * win
			my /= win * win
			for j := y0; j < y0+win; j++ {
				for i := x0; i < x0+win; i++ {
					dx, dy := x[j*w+i]-mx, y[j*w+i]-my
					vx += dx * dx
					vy += dy * dy
					cov += dx * dy
				}
			}
			vx /= win*win - 1
			vy /= win*win - 1
			cov /= win*win - 1
			sum += ((2*mx*my + c1) * (2*cov + c2)) / ((mx*mx + my*my + c1) * (vx + vy + c2))
			n++
		}
	}
	if n == 0 {
		return 1
	}
	return sum / float64(n)
}
