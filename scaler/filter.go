package scaler

import (
	"fmt"
	"image"
	"image/draw"
	"sync"

	"github.com/anthonynsimon/bild/transform"
	xdraw "golang.org/x/image/draw"
)

// Filter selects the resampling implementation. Every filter keeps the
// aspect ratio the caller computed; they differ in speed and sharpness (see
// BENCHMARKS.md).
type Filter int

const (
	// FilterDefault is the package's pick: currently FilterFast.
	FilterDefault Filter = iota

	// FilterFast works on the decoded planes (Y, Cb, Cr of a JPEG; RGBA
	// otherwise): an integer box average down to no less than twice the
	// target, then Catmull-Rom. A JPEG is never converted to RGBA.
	FilterFast

	// FilterCatmullRom is golang.org/x/image/draw's CatmullRom on an RGBA
	// destination: the quality reference, and slow.
	FilterCatmullRom

	// FilterApproxBiLinear is golang.org/x/image/draw's ApproxBiLinear:
	// fast, but it samples only 4 source pixels per output pixel, so large
	// downscales alias.
	FilterApproxBiLinear

	// FilterBiLinear is golang.org/x/image/draw's BiLinear (a tent kernel
	// scaled to the downscale factor).
	FilterBiLinear

	// FilterBildLinear is github.com/anthonynsimon/bild's transform.Resize
	// with the Linear filter.
	FilterBildLinear

	// FilterPlanes is FilterFast without the box step: Catmull-Rom over the
	// whole source, on planes. Slower than FilterFast, a touch sharper.
	FilterPlanes

	// FilterVips hands the encoded bytes to libvips' thumbnail operation
	// (shrink-on-load, Lanczos) after scaler's own Probe. Only in builds
	// with the vips tag and libvips installed (pkg-config vips); elsewhere
	// Resize returns ErrNoVips. Scale, which holds decoded pixels, treats
	// it as FilterFast.
	FilterVips
)

var filterNames = map[Filter]string{
	FilterDefault:        "default",
	FilterFast:           "fast",
	FilterCatmullRom:     "catmullrom",
	FilterApproxBiLinear: "approxbilinear",
	FilterBiLinear:       "bilinear",
	FilterBildLinear:     "bild-linear",
	FilterPlanes:         "planes",
	FilterVips:           "vips",
}

// Filters lists every filter this build can run, FilterDefault excluded;
// builds with the vips tag add FilterVips.
var Filters = []Filter{FilterFast, FilterPlanes, FilterCatmullRom, FilterApproxBiLinear, FilterBiLinear, FilterBildLinear}

func (f Filter) String() string {
	if s, ok := filterNames[f]; ok {
		return s
	}
	return fmt.Sprintf("Filter(%d)", int(f))
}

// ParseFilter returns the filter that String names.
func ParseFilter(s string) (Filter, error) {
	for f, name := range filterNames {
		if name == s {
			return f, nil
		}
	}
	return 0, fmt.Errorf("parse filter %q: unknown", s)
}

func (f Filter) resolve() Filter {
	if f == FilterDefault || f == FilterVips {
		return FilterFast
	}
	return f
}

// Scale returns img resized to exactly dw x dh with filter f. It is the pure
// pixel step under Resize, for callers that already hold a decoded image.
// Plane filters return *image.YCbCr for a YCbCr source, *image.Gray for a
// gray one and *image.RGBA otherwise; the others return *image.RGBA.
func Scale(img image.Image, dw, dh int, f Filter) image.Image {
	return scale(img, dw, dh, f, false)
}

// scale is Scale; owned says img is the caller's to overwrite, which spares
// an NRGBA source (most PNGs) a full-size premultiplied copy.
func scale(img image.Image, dw, dh int, f Filter, owned bool) image.Image {
	switch f.resolve() {
	case FilterFast:
		return scalePlanes(img, dw, dh, scalePlane, owned)
	case FilterPlanes:
		return scalePlanes(img, dw, dh, resample, owned)
	case FilterBildLinear:
		return transform.Resize(img, dw, dh, transform.Linear)
	case FilterApproxBiLinear:
		return xdrawScale(img, dw, dh, xdraw.ApproxBiLinear)
	case FilterBiLinear:
		return xdrawScale(img, dw, dh, xdraw.BiLinear)
	default:
		return xdrawScale(img, dw, dh, xdraw.CatmullRom)
	}
}

func xdrawScale(img image.Image, dw, dh int, s xdraw.Scaler) image.Image {
	dst := image.NewRGBA(image.Rect(0, 0, dw, dh))
	s.Scale(dst, dst.Bounds(), img, img.Bounds(), xdraw.Src, nil)
	return dst
}

type planeScaler func(src plane, dw, dh int, k kernel) plane

func scalePlanes(img image.Image, dw, dh int, scale planeScaler, owned bool) image.Image {
	switch m := img.(type) {
	case *image.YCbCr:
		return scaleYCbCr(m, dw, dh, scale)
	case *image.Gray:
		src := plane{pix: m.Pix[m.PixOffset(m.Rect.Min.X, m.Rect.Min.Y):], stride: m.Stride, w: m.Rect.Dx(), h: m.Rect.Dy(), c: 1}
		p := scale(src, dw, dh, catmullRom)
		return &image.Gray{Pix: p.pix, Stride: p.stride, Rect: image.Rect(0, 0, dw, dh)}
	}
	rgba, ok := img.(*image.RGBA)
	if n, isN := img.(*image.NRGBA); isN && owned {
		rgba, ok = premultiplyInPlace(n), true
	}
	if !ok {
		// Premultiplied, so that transparent pixels' colors do not bleed.
		b := img.Bounds()
		rgba = image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
		draw.Draw(rgba, rgba.Rect, img, b.Min, draw.Src)
	}
	src := plane{pix: rgba.Pix[rgba.PixOffset(rgba.Rect.Min.X, rgba.Rect.Min.Y):], stride: rgba.Stride, w: rgba.Rect.Dx(), h: rgba.Rect.Dy(), c: 4}
	p := scale(src, dw, dh, catmullRom)
	fixPremultiplied(p.pix)
	return &image.RGBA{Pix: p.pix, Stride: p.stride, Rect: image.Rect(0, 0, dw, dh)}
}

// premultiplyInPlace turns n into the *image.RGBA of the same colors,
// reusing its pixels.
func premultiplyInPlace(n *image.NRGBA) *image.RGBA {
	for y := n.Rect.Min.Y; y < n.Rect.Max.Y; y++ {
		row := n.Pix[n.PixOffset(n.Rect.Min.X, y):][:4*n.Rect.Dx()]
		for i := 0; i < len(row); i += 4 {
			if row[i+3] == 255 {
				continue
			}
			// Exactly as image/draw converts NRGBA to RGBA, so that owning
			// the source changes no pixel.
			a := uint32(row[i+3]) * 0x101
			row[i] = uint8(uint32(row[i]) * a / 0xff >> 8)
			row[i+1] = uint8(uint32(row[i+1]) * a / 0xff >> 8)
			row[i+2] = uint8(uint32(row[i+2]) * a / 0xff >> 8)
		}
	}
	return &image.RGBA{Pix: n.Pix, Stride: n.Stride, Rect: n.Rect}
}

// fixPremultiplied clamps color to alpha: Catmull-Rom's negative lobes can
// push a channel past its alpha, which is not a valid premultiplied color.
func fixPremultiplied(pix []uint8) {
	for i := 0; i+3 < len(pix); i += 4 {
		a := pix[i+3]
		pix[i] = min(pix[i], a)
		pix[i+1] = min(pix[i+1], a)
		pix[i+2] = min(pix[i+2], a)
	}
}

func scaleYCbCr(m *image.YCbCr, dw, dh int, scale planeScaler) *image.YCbCr {
	dst := image.NewYCbCr(image.Rect(0, 0, dw, dh), m.SubsampleRatio)
	b := m.Rect
	ySrc := plane{pix: m.Y[m.YOffset(b.Min.X, b.Min.Y):], stride: m.YStride, w: b.Dx(), h: b.Dy(), c: 1}
	// Chroma plane extent for the source rectangle, as image.NewYCbCr
	// computes it.
	cb := chromaRect(b, m.SubsampleRatio)
	co := m.COffset(b.Min.X, b.Min.Y)
	cbSrc := plane{pix: m.Cb[co:], stride: m.CStride, w: cb.Dx(), h: cb.Dy(), c: 1}
	crSrc := plane{pix: m.Cr[co:], stride: m.CStride, w: cb.Dx(), h: cb.Dy(), c: 1}
	dc := chromaRect(dst.Rect, dst.SubsampleRatio)

	// Luma is most of the work; chroma runs beside it on a second core.
	var wg sync.WaitGroup
	var cbOut, crOut plane
	wg.Go(func() {
		cbOut = scale(cbSrc, dc.Dx(), dc.Dy(), catmullRom)
		crOut = scale(crSrc, dc.Dx(), dc.Dy(), catmullRom)
	})
	yOut := scale(ySrc, dw, dh, catmullRom)
	wg.Wait()
	copyPlane(dst.Y, dst.YStride, yOut)
	copyPlane(dst.Cb, dst.CStride, cbOut)
	copyPlane(dst.Cr, dst.CStride, crOut)
	return dst
}

func copyPlane(dst []uint8, stride int, p plane) {
	for y := 0; y < p.h; y++ {
		copy(dst[y*stride:], p.row(y))
	}
}

// chromaRect mirrors image.NewYCbCr's chroma plane geometry.
func chromaRect(r image.Rectangle, ratio image.YCbCrSubsampleRatio) image.Rectangle {
	x0, y0, x1, y1 := r.Min.X, r.Min.Y, r.Max.X, r.Max.Y
	switch ratio {
	case image.YCbCrSubsampleRatio422:
		return image.Rect(x0/2, y0, (x1+1)/2, y1)
	case image.YCbCrSubsampleRatio420:
		return image.Rect(x0/2, y0/2, (x1+1)/2, (y1+1)/2)
	case image.YCbCrSubsampleRatio440:
		return image.Rect(x0, y0/2, x1, (y1+1)/2)
	case image.YCbCrSubsampleRatio411:
		return image.Rect(x0/4, y0, (x1+3)/4, y1)
	case image.YCbCrSubsampleRatio410:
		return image.Rect(x0/4, y0/2, (x1+3)/4, (y1+1)/2)
	}
	return r
}
