//go:build vips

package scaler

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image/jpeg"
	"testing"
)

func TestVips_Resize(t *testing.T) {
	res, err := Resize(smallJPEG, 160, Options{Filter: FilterVips})
	if err != nil {
		t.Fatal(err)
	}
	if res.Width != 160 || res.Height != 107 || res.Format != FormatJPEG {
		t.Fatalf("vips result %dx%d %s", res.Width, res.Height, res.Format)
	}
	got := mustDecode(t, res.Data)
	full, err := jpeg.Decode(bytes.NewReader(smallJPEG))
	if err != nil {
		t.Fatal(err)
	}
	ref := Scale(full, 160, 107, FilterCatmullRom)
	if psnr, _ := Fidelity(got, ref); psnr < 30 {
		t.Fatalf("vips output %.1f dB from Catmull-Rom", psnr)
	}
	gif, err := Resize(smallGIF, 100, Options{Filter: FilterVips})
	if err != nil || gif.Format != FormatPNG {
		t.Fatalf("vips GIF: %s, %v", gif.Format, err)
	}
}

func TestVips_ProbeFirst(t *testing.T) {
	for _, tc := range []struct {
		data []byte
		want error
	}{
		{pngHeader(100000, 100000), ErrTooManyPixels},
		{smallGIF, ErrNoUpscale},
		{[]byte("text"), ErrNotImage},
	} {
		if _, err := Resize(tc.data, 500, Options{Filter: FilterVips}); !errors.Is(err, tc.want) {
			t.Fatalf("err=%v, want %v", err, tc.want)
		}
	}
	if _, err := Resize(smallJPEG[:len(smallJPEG)/2], 100, Options{Filter: FilterVips}); err == nil {
		t.Fatal("vips resized a truncated JPEG without error")
	}
}

func TestVips_Orientation(t *testing.T) {
	stored, _ := quadrants(t, 128, 64)
	for o := 1; o <= 8; o++ {
		t.Run(fmt.Sprint(o), func(t *testing.T) {
			src := withSegment(stored, exifApp1(o, binary.BigEndian))
			res, err := Resize(src, 32, Options{Filter: FilterVips, Quality: 95})
			if err != nil {
				t.Fatal(err)
			}
			checkQuadrants(t, mustDecode(t, res.Data), uprightQuadrants[o])
		})
	}
}

func TestVips_ResizeAll(t *testing.T) {
	res, info, err := ResizeAll(smallJPEG, nil, Options{Filter: FilterVips})
	if err != nil {
		t.Fatal(err)
	}
	if info.Width != 600 || len(res) != 2 || res[0].Width != 160 || res[1].Width != 320 {
		t.Fatalf("ResizeAll with vips: info %+v, %d results", info, len(res))
	}
}
