package scaler

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/draw"
	"image/png"
	"os"
	"testing"

	"metacdn/scaler/testimg"
)

// Test inputs, generated once per test binary.
var (
	smallJPEG = testimg.PhotoJPEG(600, 400, 1, 85)
	smallPNG  = testimg.PatternPNG(300, 200)
	smallGIF  = testimg.GIF(200, 150, 3)
)

func mustRead(tb testing.TB, path string) []byte {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func mustDecode(tb testing.TB, b []byte) image.Image {
	tb.Helper()
	img, _, err := image.Decode(bytes.NewReader(b))
	if err != nil {
		tb.Fatalf("decode result: %v", err)
	}
	return img
}

func toNRGBA(img image.Image) *image.NRGBA {
	b := img.Bounds()
	out := image.NewNRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(out, out.Rect, img, b.Min, draw.Src)
	return out
}

// meanAbsDiff is the mean absolute difference per channel of two images of
// the same size, on a 0-255 scale.
func meanAbsDiff(a, b image.Image) float64 {
	na, nb := toNRGBA(a), toNRGBA(b)
	var sum int64
	for i := range na.Pix {
		d := int64(na.Pix[i]) - int64(nb.Pix[i])
		sum += max(d, -d)
	}
	return float64(sum) / float64(len(na.Pix))
}

// jpegWithSize rewrites the SOF dimensions of a baseline JPEG.
func jpegWithSize(tb testing.TB, src []byte, w, h uint16) []byte {
	tb.Helper()
	b := bytes.Clone(src)
	i := bytes.Index(b, []byte{0xFF, 0xC0})
	if i < 0 {
		tb.Fatal("no SOF0 marker")
	}
	// FF C0, length(2), precision(1), height(2), width(2)
	binary.BigEndian.PutUint16(b[i+5:], h)
	binary.BigEndian.PutUint16(b[i+7:], w)
	return b
}

func encodePNG(tb testing.TB, img image.Image) []byte {
	tb.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

// jpegManyScans repeats the DC scan of a small progressive JPEG n more
// times: a file that multiplies decode work by its scan count.
func jpegManyScans(tb testing.TB, n int) []byte {
	tb.Helper()
	src := mustRead(tb, "internal/jpegscale/testdata/progressive420.jpg")
	sos := bytes.Index(src, []byte{0xff, 0xda})
	next := bytes.Index(src[sos+2:], []byte{0xff, 0xc4})
	if sos < 0 || next < 0 {
		tb.Fatal("testdata layout changed")
	}
	end := sos + 2 + next
	out := bytes.Clone(src[:end])
	for range n {
		out = append(out, src[sos:end]...)
	}
	return append(out, src[end:]...)
}

// pngHeader is a decompression bomb's shape without its bulk.
var pngHeader = testimg.PNGClaiming
