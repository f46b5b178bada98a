package scaler

import (
	"errors"
	"testing"

	"metacdn/scaler/testimg"
)

func TestResizeAll(t *testing.T) {
	src := testimg.PhotoJPEG(800, 600, 3, 85)
	res, info, err := ResizeAll(src, []int{640, 160, 2000, 320, 800, 0}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if info.Width != 800 || info.Height != 600 {
		t.Fatalf("info %+v", info)
	}
	wantW := []int{160, 320, 640}
	if len(res) != len(wantW) {
		t.Fatalf("%d results, want %d", len(res), len(wantW))
	}
	for i, r := range res {
		img := mustDecode(t, r.Data)
		if r.Width != wantW[i] || img.Bounds().Dx() != wantW[i] || img.Bounds().Dy() != ScaledHeight(800, 600, wantW[i]) {
			t.Fatalf("result %d: %dx%d, decoded %v", i, r.Width, r.Height, img.Bounds())
		}
		// Each variant matches what Resize makes alone, near enough: they
		// may decode at different DCT scales.
		one, err := Resize(src, wantW[i], Options{})
		if err != nil {
			t.Fatal(err)
		}
		if d := meanAbsDiff(img, mustDecode(t, one.Data)); d > 3 {
			t.Fatalf("width %d: differs from Resize by %.2f", wantW[i], d)
		}
	}
}

func TestResizeAll_Errors(t *testing.T) {
	if res, _, err := ResizeAll(smallPNG, []int{300, 400}, Options{}); err != nil || len(res) != 0 {
		t.Fatalf("no width below original: %d results, %v", len(res), err)
	}
	if _, _, err := ResizeAll(pngHeader(100000, 100000), nil, Options{}); !errors.Is(err, ErrTooManyPixels) {
		t.Fatalf("bomb err=%v", err)
	}
	if _, _, err := ResizeAll(smallJPEG[:len(smallJPEG)/2], nil, Options{}); !errors.Is(err, ErrTruncated) {
		t.Fatalf("truncated err=%v", err)
	}
	if _, _, err := ResizeAll(smallJPEG, nil, Options{Limits: Limits{MaxOutputBytes: 100}}); !errors.Is(err, ErrOutputTooLarge) {
		t.Fatalf("output cap err=%v", err)
	}
}
