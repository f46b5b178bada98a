package scaler

import (
	"bytes"
	"errors"
	"runtime"
	"strings"
	"testing"

	"metacdn/scaler/testimg"
)

func TestProbe_Formats(t *testing.T) {
	tests := []struct {
		name   string
		data   []byte
		format string
		w, h   int
		frames int
	}{
		{"JPEG", smallJPEG, FormatJPEG, 600, 400, 1},
		{"PNG", smallPNG, FormatPNG, 300, 200, 1},
		{"GIF", smallGIF, FormatGIF, 200, 150, 3},
		{"WebPLossy", mustRead(t, "testdata/blue-purple-pink.lossy.webp"), FormatWebP, 0, 0, 1},
		{"WebPAlpha", mustRead(t, "testdata/gopher-doc.with-alpha.lossless.webp"), FormatWebP, 0, 0, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			info, err := Probe(bytes.NewReader(tc.data))
			if err != nil {
				t.Fatalf("Probe: %v", err)
			}
			if info.Format != tc.format || info.Frames != tc.frames {
				t.Fatalf("Probe=%+v, want format %s frames %d", info, tc.format, tc.frames)
			}
			if tc.w != 0 && (info.Width != tc.w || info.Height != tc.h) {
				t.Fatalf("Probe=%dx%d, want %dx%d", info.Width, info.Height, tc.w, tc.h)
			}
			if info.Width <= 0 || info.Height <= 0 {
				t.Fatalf("Probe=%+v: no size", info)
			}
			if got, want := info.ContentType(), "image/"+tc.format; got != want {
				t.Fatalf("ContentType()=%q, want %q", got, want)
			}
		})
	}
}

func TestProbe_Errors(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		lim  Limits
		want error
	}{
		{"Empty", nil, Limits{}, ErrNotImage},
		{"Text", []byte("<html>hello</html>"), Limits{}, ErrNotImage},
		{"PNGBomb", pngHeader(100000, 100000), Limits{}, ErrTooManyPixels},
		{"PNGZeroWidth", pngHeader(0, 10), Limits{}, ErrNotImage},
		{"JPEGBomb", jpegWithSize(t, smallJPEG, 65000, 65000), Limits{}, ErrTooManyPixels},
		{"JPEGHeaderCut", smallJPEG[:20], Limits{}, ErrTruncated},
		{"PNGHeaderCut", smallPNG[:20], Limits{}, ErrTruncated},
		{"GIFHeaderCut", smallGIF[:8], Limits{}, ErrTruncated},
		{"GIFFramesCut", smallGIF[:len(smallGIF)/2], Limits{}, ErrTruncated},
		{"OverCustomPixels", smallPNG, Limits{MaxPixels: 300*200 - 1}, ErrTooManyPixels},
		{"GIFOverFrames", smallGIF, Limits{MaxFrames: 2}, ErrTooManyFrames},
		{"GIFOverInput", smallGIF, Limits{MaxInputBytes: int64(len(smallGIF)) - 10}, ErrTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.lim.Probe(bytes.NewReader(tc.data))
			if !errors.Is(err, tc.want) {
				t.Fatalf("Probe err=%v, want %v", err, tc.want)
			}
		})
	}
}

func TestProbe_LimitsAtBoundary(t *testing.T) {
	if _, err := (Limits{MaxPixels: 300 * 200}).Probe(bytes.NewReader(smallPNG)); err != nil {
		t.Fatalf("Probe at exactly MaxPixels: %v", err)
	}
	if _, err := (Limits{MaxFrames: 3}).Probe(bytes.NewReader(smallGIF)); err != nil {
		t.Fatalf("Probe at exactly MaxFrames: %v", err)
	}
	if _, err := (Limits{MaxInputBytes: int64(len(smallGIF))}).Probe(bytes.NewReader(smallGIF)); err != nil {
		t.Fatalf("Probe at exactly MaxInputBytes: %v", err)
	}
	if _, err := (Limits{MaxPixels: -1}).Probe(bytes.NewReader(pngHeader(100000, 100000))); err != nil {
		t.Fatalf("Probe with no pixel limit: %v", err)
	}
}

// TestProbe_BombAllocatesLittle checks that refusing a 10-gigapixel header
// costs kilobytes, not the gigabytes its pixels would.
func TestProbe_BombAllocatesLittle(t *testing.T) {
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"PNG", pngHeader(100000, 100000)},
		{"JPEG", jpegWithSize(t, smallJPEG, 65000, 65000)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err := Resize(tc.data, 100, Options{})
			runtime.ReadMemStats(&after)
			if !errors.Is(err, ErrTooManyPixels) {
				t.Fatalf("Resize err=%v, want ErrTooManyPixels", err)
			}
			if got := after.TotalAlloc - before.TotalAlloc; got > 1<<20 {
				t.Fatalf("refusing the bomb allocated %d bytes", got)
			}
		})
	}
}

func TestProbe_GIFManyFrames(t *testing.T) {
	many := testimg.GIF(4, 4, DefaultMaxFrames+1)
	info, err := Probe(bytes.NewReader(many))
	if !errors.Is(err, ErrTooManyFrames) {
		t.Fatalf("Probe err=%v, want ErrTooManyFrames", err)
	}
	if got, want := info.Frames, DefaultMaxFrames+1; got != want {
		t.Fatalf("Frames=%d, want %d (the walk stops one past the limit)", got, want)
	}
	if _, err := Resize(many, 2, Options{}); !errors.Is(err, ErrTooManyFrames) {
		t.Fatalf("Resize err=%v, want ErrTooManyFrames", err)
	}
	// Under the limit the walk counts every frame.
	ok := testimg.GIF(4, 4, 50)
	info, err = Probe(bytes.NewReader(ok))
	if err != nil || info.Frames != 50 {
		t.Fatalf("Probe=%+v, %v; want 50 frames", info, err)
	}
}

func TestProbe_GIFWithoutTrailer(t *testing.T) {
	b := bytes.TrimSuffix(smallGIF, []byte{0x3B})
	info, err := Probe(bytes.NewReader(b))
	if err != nil || info.Frames != 3 {
		t.Fatalf("Probe=%+v, %v; want 3 frames", info, err)
	}
}

func TestProbe_ErrorMessageNamesCause(t *testing.T) {
	_, err := Probe(bytes.NewReader(pngHeader(100000, 100000)))
	if err == nil || !strings.Contains(err.Error(), "100000x100000") {
		t.Fatalf("err=%v, want the dimensions in the message", err)
	}
}
