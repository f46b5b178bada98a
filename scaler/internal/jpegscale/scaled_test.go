package jpegscale

import (
	"bytes"
	"image"
	"image/draw"
	"image/jpeg"
	"os"
	"path/filepath"
	"testing"

	"metacdn/scaler/testimg"
)

func inputs(t *testing.T) map[string][]byte {
	t.Helper()
	in := map[string][]byte{
		"go420":     testimg.PhotoJPEG(803, 601, 1, 85),
		"go420tiny": testimg.PhotoJPEG(5, 3, 2, 85),
	}
	files, err := filepath.Glob("testdata/*.jpg")
	if err != nil || len(files) == 0 {
		t.Fatalf("testdata: %v %v", files, err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		in[filepath.Base(f)] = b
	}
	return in
}

func rgba(img image.Image) *image.RGBA {
	b := img.Bounds()
	m := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(m, m.Rect, img, b.Min, draw.Src)
	return m
}

// TestDecode_MatchesStandardLibrary: at scale 1 the fork is the standard
// decoder, byte for byte.
func TestDecode_MatchesStandardLibrary(t *testing.T) {
	for name, src := range inputs(t) {
		want, err := jpeg.Decode(bytes.NewReader(src))
		if err != nil {
			t.Fatalf("%s: std: %v", name, err)
		}
		got, err := Decode(bytes.NewReader(src))
		if err != nil {
			t.Fatalf("%s: fork: %v", name, err)
		}
		if !bytes.Equal(rgba(got).Pix, rgba(want).Pix) || got.Bounds() != want.Bounds() {
			t.Fatalf("%s: fork differs from image/jpeg", name)
		}
	}
}

// planes returns the sample planes of a decoded image with their sizes.
type samplePlane struct {
	pix    []uint8
	stride int
	w, h   int
}

func planes(t *testing.T, img image.Image) []samplePlane {
	t.Helper()
	switch m := img.(type) {
	case *image.Gray:
		return []samplePlane{{m.Pix, m.Stride, m.Rect.Dx(), m.Rect.Dy()}}
	case *image.YCbCr:
		ch := (len(m.Cb) + m.CStride - 1) / m.CStride
		return []samplePlane{
			{m.Y, m.YStride, m.Rect.Dx(), m.Rect.Dy()},
			{m.Cb, m.CStride, m.CStride, ch},
			{m.Cr, m.CStride, m.CStride, ch},
		}
	case *image.CMYK:
		w, h := m.Rect.Dx(), m.Rect.Dy()
		out := make([]samplePlane, 4)
		for c := range out {
			p := samplePlane{make([]uint8, w*h), w, w, h}
			for y := 0; y < h; y++ {
				for x := 0; x < w; x++ {
					p.pix[y*w+x] = m.Pix[y*m.Stride+x*4+c]
				}
			}
			out[c] = p
		}
		return out
	}
	t.Fatalf("decoded %T", img)
	return nil
}

// TestDecodeScaled_MatchesBoxAverage: each plane of a scaled decode is
// close to averaging the full decode's plane over denom x denom blocks.
func TestDecodeScaled_MatchesBoxAverage(t *testing.T) {
	for name, src := range inputs(t) {
		full, err := jpeg.Decode(bytes.NewReader(src))
		if err != nil {
			t.Fatal(err)
		}
		for _, denom := range []int{2, 4, 8} {
			img, err := DecodeScaled(bytes.NewReader(src), denom)
			if err != nil {
				t.Fatalf("%s/%d: %v", name, denom, err)
			}
			fb := full.Bounds()
			want := image.Rect(0, 0, (fb.Dx()+denom-1)/denom, (fb.Dy()+denom-1)/denom)
			if img.Bounds() != want {
				t.Fatalf("%s/%d: bounds %v, want %v", name, denom, img.Bounds(), want)
			}
			fp, sp := planes(t, full), planes(t, img)
			for pi := range fp {
				f, s := fp[pi], sp[pi]
				var sum, n int64
				// Whole blocks of the visible area only.
				for y := 0; y < min(f.h/denom, s.h); y++ {
					for x := 0; x < min(f.w/denom, s.w); x++ {
						var acc int64
						for j := 0; j < denom; j++ {
							for i := 0; i < denom; i++ {
								acc += int64(f.pix[(y*denom+j)*f.stride+x*denom+i])
							}
						}
						avg := (acc + int64(denom*denom/2)) / int64(denom*denom)
						d := avg - int64(s.pix[y*s.stride+x])
						sum += max(d, -d)
						n++
					}
				}
				if n < 64 {
					continue // too few whole blocks: padding dominates
				}
				tol := 1.5
				if _, ok := img.(*image.CMYK); ok {
					// image/jpeg upsamples CMYK's subsampled channels by
					// repetition before interleaving; the scaled decode
					// samples them at its own scale.
					tol = 2.5
				}
				if mad := float64(sum) / float64(n); mad > tol {
					t.Fatalf("%s/%d plane %d: mean abs diff %.2f from the box average", name, denom, pi, mad)
				}
			}
		}
	}
}

func TestDecodeScaled_Truncated(t *testing.T) {
	src := testimg.PhotoJPEG(200, 100, 1, 85)
	for _, denom := range []int{1, 2, 4, 8} {
		if _, err := DecodeScaled(bytes.NewReader(src[:len(src)/2]), denom); err == nil {
			t.Fatalf("denom %d: truncated JPEG decoded", denom)
		}
	}
}

// manyScans repeats the first scan (the DC scan, which a decoder may
// see again without complaint) of a progressive JPEG n more times.
func manyScans(t *testing.T, n int) []byte {
	t.Helper()
	src, err := os.ReadFile("testdata/progressive420.jpg")
	if err != nil {
		t.Fatal(err)
	}
	sos := bytes.Index(src, []byte{0xff, 0xda})
	next := bytes.Index(src[sos+2:], []byte{0xff, 0xc4}) // the DHT after it
	if sos < 0 || next < 0 {
		t.Fatal("testdata layout changed")
	}
	end := sos + 2 + next
	out := bytes.Clone(src[:end])
	for range n {
		out = append(out, src[sos:end]...)
	}
	return append(out, src[end:]...)
}

func TestDecode_ScanLimit(t *testing.T) {
	if _, err := Decode(bytes.NewReader(manyScans(t, 20))); err != nil {
		t.Fatalf("29 scans refused: %v", err)
	}
	_, err := Decode(bytes.NewReader(manyScans(t, MaxScans)))
	if _, ok := err.(UnsupportedError); !ok {
		t.Fatalf("%d scans: err=%v, want UnsupportedError", MaxScans+9, err)
	}
}
