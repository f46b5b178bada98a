package jpegscale

import (
	"bytes"
	"image"
	"image/jpeg"
	"os"
	"path/filepath"
	"testing"

	"metacdn/scaler/testimg"
)

// FuzzDecode checks the fork against image/jpeg on any input: at full size
// both fail or both give the same pixels, and wherever the standard decoder
// succeeds every scaled decode does too, at the promised size.
func FuzzDecode(f *testing.F) {
	f.Add(testimg.PhotoJPEG(40, 30, 1, 80))
	f.Add(testimg.PhotoJPEG(17, 9, 2, 30))
	files, _ := filepath.Glob("testdata/*.jpg")
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := jpeg.DecodeConfig(bytes.NewReader(data))
		if err != nil || cfg.Width*cfg.Height > 1<<20 {
			return // keep each input cheap; headers are scaler.Probe's job
		}
		want, stdErr := jpeg.Decode(bytes.NewReader(data))
		got, err := Decode(bytes.NewReader(data))
		if (err == nil) != (stdErr == nil) {
			if _, ok := err.(UnsupportedError); ok && err.Error() == UnsupportedError("more than MaxScans scans").Error() {
				return
			}
			t.Fatalf("fork err=%v, image/jpeg err=%v", err, stdErr)
		}
		if stdErr != nil {
			return
		}
		if got.Bounds() != want.Bounds() || !bytes.Equal(rgba(got).Pix, rgba(want).Pix) {
			t.Fatal("fork pixels differ from image/jpeg")
		}
		for _, denom := range []int{2, 4, 8} {
			img, err := DecodeScaled(bytes.NewReader(data), denom)
			if err != nil {
				t.Fatalf("denom %d: %v where image/jpeg decoded", denom, err)
			}
			b := want.Bounds()
			if r := image.Rect(0, 0, (b.Dx()+denom-1)/denom, (b.Dy()+denom-1)/denom); img.Bounds() != r {
				t.Fatalf("denom %d: bounds %v, want %v", denom, img.Bounds(), r)
			}
		}
	})
}
