package scaler

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"metacdn/scaler/testimg"
)

// fuzzLimits keep each fuzz input cheap: a mutated header claiming a large
// image is refused rather than decoded for seconds.
var fuzzLimits = Limits{MaxPixels: 1 << 18, MaxFrames: 64, MaxInputBytes: 1 << 20, MaxOutputBytes: 1 << 20}

func fuzzSeeds(f *testing.F) [][]byte {
	return [][]byte{
		testimg.PhotoJPEG(40, 30, 1, 80),
		testimg.PatternPNG(40, 30),
		testimg.GIF(20, 10, 3),
		pngHeader(100000, 100000),
		jpegWithSize(f, testimg.PhotoJPEG(16, 16, 2, 50), 60000, 60000),
		mustRead(f, "testdata/blue-purple-pink.lossy.webp"),
		mustRead(f, "internal/jpegscale/testdata/progressive420.jpg"),
		mustRead(f, "internal/jpegscale/testdata/gray.jpg"),
		withSegment(testimg.PhotoJPEG(24, 16, 3, 70), exifApp1(6, binary.BigEndian)),
		mustRead(f, "testdata/gopher-doc.with-alpha.lossless.webp"),
		[]byte("GIF89a"),
		nil,
	}
}

func FuzzProbe(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		info, err := fuzzLimits.Probe(bytes.NewReader(data))
		if err != nil {
			return
		}
		if info.Width <= 0 || info.Height <= 0 || int64(info.Width)*int64(info.Height) > fuzzLimits.MaxPixels {
			t.Fatalf("Probe accepted %+v", info)
		}
		if info.Frames < 1 || info.Frames > fuzzLimits.MaxFrames {
			t.Fatalf("Probe accepted %d frames", info.Frames)
		}
	})
}

func FuzzResize(f *testing.F) {
	for i, s := range fuzzSeeds(f) {
		f.Add(s, 1+i*7, uint8(i))
	}
	f.Fuzz(func(t *testing.T, data []byte, width int, filter uint8) {
		width = 1 + (width&0x7fffffff)%200
		flt := Filters[int(filter)%len(Filters)]
		res, err := Resize(data, width, Options{Filter: flt, Limits: fuzzLimits})
		if err != nil {
			if errors.Is(err, ErrBadWidth) {
				t.Fatalf("width %d refused: %v", width, err)
			}
			return
		}
		if res.Width != width || res.Height < 1 || len(res.Data) == 0 {
			t.Fatalf("Resize to %d gave %dx%d, %d bytes", width, res.Width, res.Height, len(res.Data))
		}
	})
}
