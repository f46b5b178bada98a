package scaler

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"metacdn/scaler/testimg"
)

func TestResize_Formats(t *testing.T) {
	tests := []struct {
		name       string
		data       []byte
		width      int
		wantW      int
		wantH      int
		wantFormat string
	}{
		{"JPEG", smallJPEG, 160, 160, 107, FormatJPEG},
		{"PNG", smallPNG, 97, 97, 65, FormatPNG},
		{"GIFToPNG", smallGIF, 100, 100, 75, FormatPNG},
		{"ProgressiveJPEG", mustRead(t, "internal/jpegscale/testdata/progressive420.jpg"), 60, 60, 45, FormatJPEG},
		{"JPEG444", mustRead(t, "internal/jpegscale/testdata/baseline444.jpg"), 150, 150, 113, FormatJPEG},
		{"CMYKJPEG", mustRead(t, "internal/jpegscale/testdata/cmyk.jpg"), 50, 50, 38, FormatJPEG},
		{"GrayJPEG", mustRead(t, "internal/jpegscale/testdata/gray.jpg"), 99, 99, 74, FormatJPEG},
		{"WebPLossyToJPEG", mustRead(t, "testdata/blue-purple-pink.lossy.webp"), 50, 50, 0, FormatJPEG},
		{"WebPAlphaToPNG", mustRead(t, "testdata/gopher-doc.with-alpha.lossless.webp"), 50, 50, 0, FormatPNG},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Resize(tc.data, tc.width, Options{})
			if err != nil {
				t.Fatalf("Resize: %v", err)
			}
			if res.Format != tc.wantFormat || res.ContentType != "image/"+tc.wantFormat {
				t.Fatalf("Resize format=%s type=%s, want %s", res.Format, res.ContentType, tc.wantFormat)
			}
			img := mustDecode(t, res.Data)
			b := img.Bounds()
			if b.Dx() != res.Width || b.Dy() != res.Height {
				t.Fatalf("decoded %v, Result says %dx%d", b, res.Width, res.Height)
			}
			if res.Width != tc.wantW || (tc.wantH != 0 && res.Height != tc.wantH) {
				t.Fatalf("Resize=%dx%d, want %dx%d", res.Width, res.Height, tc.wantW, tc.wantH)
			}
		})
	}
}

func TestResize_Errors(t *testing.T) {
	tests := []struct {
		name  string
		data  []byte
		width int
		opts  Options
		want  error
	}{
		{"Upscale", smallJPEG, 601, Options{}, ErrNoUpscale},
		{"SameWidth", smallJPEG, 600, Options{}, ErrNoUpscale},
		{"ZeroWidth", smallJPEG, 0, Options{}, ErrBadWidth},
		{"NegativeWidth", smallJPEG, -5, Options{}, ErrBadWidth},
		{"NotImage", []byte("GIF? no, plain text"), 10, Options{}, ErrNotImage},
		{"TruncatedJPEG", smallJPEG[:len(smallJPEG)/2], 100, Options{}, ErrTruncated},
		{"TruncatedPNG", smallPNG[:len(smallPNG)/2], 100, Options{}, ErrTruncated},
		{"CorruptPNG", pngHeader(64, 64), 10, Options{}, ErrCorrupt},
		{"JPEGManyScans", jpegManyScans(t, 200), 10, Options{}, ErrCorrupt},
		{"JPEGManyScansFullDecode", jpegManyScans(t, 200), 10, Options{Filter: FilterCatmullRom}, ErrCorrupt},
		{"InputTooLarge", smallJPEG, 100, Options{Limits: Limits{MaxInputBytes: 1000}}, ErrTooLarge},
		{"OutputTooLarge", smallJPEG, 300, Options{Limits: Limits{MaxOutputBytes: 2000}}, ErrOutputTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Resize(tc.data, tc.width, tc.opts)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Resize err=%v, want %v", err, tc.want)
			}
		})
	}
}

func TestResizeReader(t *testing.T) {
	res, err := ResizeReader(bytes.NewReader(smallJPEG), 200, Options{})
	if err != nil || res.Width != 200 {
		t.Fatalf("ResizeReader=%dx%d, %v", res.Width, res.Height, err)
	}
	_, err = ResizeReader(bytes.NewReader(smallJPEG), 200, Options{Limits: Limits{MaxInputBytes: 100}})
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("ResizeReader err=%v, want ErrTooLarge", err)
	}
}

func TestResize_Quality(t *testing.T) {
	lo, err := Resize(smallJPEG, 300, Options{Quality: 30})
	if err != nil {
		t.Fatal(err)
	}
	hi, err := Resize(smallJPEG, 300, Options{Quality: 95})
	if err != nil {
		t.Fatal(err)
	}
	if len(lo.Data) >= len(hi.Data) {
		t.Fatalf("quality 30 gave %d bytes, quality 95 %d: quality ignored", len(lo.Data), len(hi.Data))
	}
}

func TestScaledHeight(t *testing.T) {
	tests := []struct{ ow, oh, w, want int }{
		{600, 400, 160, 107}, // 106.67
		{4000, 3000, 640, 480},
		{1000, 1, 10, 1}, // never 0
		{3, 1000, 1, 333},
		{0, 10, 5, 0},
	}
	for _, tc := range tests {
		if got := ScaledHeight(tc.ow, tc.oh, tc.w); got != tc.want {
			t.Errorf("ScaledHeight(%d,%d,%d)=%d, want %d", tc.ow, tc.oh, tc.w, got, tc.want)
		}
	}
}

// TestResize_Property resizes random sizes with every filter: the width is
// always the one asked for and the aspect ratio holds within one pixel.
func TestResize_Property(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 0))
	for i := 0; i < 20; i++ {
		w, h := 2+r.IntN(200), 2+r.IntN(200)
		want := 1 + r.IntN(w-1)
		f := Filters[r.IntN(len(Filters))]
		var src []byte
		switch r.IntN(3) {
		case 0:
			src = testimg.PhotoJPEG(w, h, r.Uint64(), 80)
		case 1:
			src = testimg.PatternPNG(w, h)
		default:
			src = testimg.GIF(w, h, 1)
		}
		res, err := Resize(src, want, Options{Filter: f})
		if err != nil {
			t.Fatalf("seed %d: %dx%d to %d with %v: %v", seed, w, h, want, f, err)
		}
		img := mustDecode(t, res.Data)
		gw, gh := img.Bounds().Dx(), img.Bounds().Dy()
		exact := float64(h) * float64(want) / float64(w)
		if gw != want || float64(gh) < exact-1 || float64(gh) > exact+1 || gh < 1 {
			t.Fatalf("seed %d: %dx%d to %d with %v gave %dx%d, want %dx%.1f", seed, w, h, want, f, gw, gh, want, exact)
		}
	}
}

// TestScale_SolidColor checks every filter and source type keeps a flat
// color flat: no gain error, no edge darkening, no channel swap.
func TestScale_SolidColor(t *testing.T) {
	c := color.NRGBA{200, 120, 40, 255}
	srcs := map[string]image.Image{}
	rgba := image.NewRGBA(image.Rect(0, 0, 123, 77))
	nrgba := image.NewNRGBA(image.Rect(0, 0, 123, 77))
	gray := image.NewGray(image.Rect(0, 0, 123, 77))
	pal := image.NewPaletted(image.Rect(0, 0, 123, 77), color.Palette{c})
	for y := 0; y < 77; y++ {
		for x := 0; x < 123; x++ {
			rgba.Set(x, y, c)
			nrgba.Set(x, y, c)
			gray.Set(x, y, c)
		}
	}
	srcs["RGBA"], srcs["NRGBA"], srcs["Gray"], srcs["Paletted"] = rgba, nrgba, gray, pal
	for _, ratio := range []image.YCbCrSubsampleRatio{image.YCbCrSubsampleRatio444, image.YCbCrSubsampleRatio420, image.YCbCrSubsampleRatio422, image.YCbCrSubsampleRatio440, image.YCbCrSubsampleRatio411, image.YCbCrSubsampleRatio410} {
		m := image.NewYCbCr(image.Rect(0, 0, 123, 77), ratio)
		yy, cb, cr := color.RGBToYCbCr(c.R, c.G, c.B)
		for i := range m.Y {
			m.Y[i] = yy
		}
		for i := range m.Cb {
			m.Cb[i], m.Cr[i] = cb, cr
		}
		srcs["YCbCr"+ratio.String()] = m
	}
	for name, src := range srcs {
		for _, f := range Filters {
			out := Scale(src, 31, 19, f)
			if b := out.Bounds(); b.Dx() != 31 || b.Dy() != 19 {
				t.Fatalf("%s %v: bounds %v", name, f, b)
			}
			want := toNRGBA(src).NRGBAAt(0, 0)
			got := toNRGBA(out)
			for i := 0; i < len(got.Pix); i += 4 {
				p := got.Pix[i : i+4]
				if absDiff(p[0], want.R) > 2 || absDiff(p[1], want.G) > 2 || absDiff(p[2], want.B) > 2 || p[3] != 255 {
					t.Fatalf("%s %v: pixel %d = %v, want %v", name, f, i/4, p, want)
				}
			}
		}
	}
}

func absDiff(a, b uint8) uint8 {
	if a > b {
		return a - b
	}
	return b - a
}

// TestScale_Transparency checks that a fully transparent region does not
// bleed its (hidden) color into opaque neighbors.
func TestScale_Transparency(t *testing.T) {
	src := image.NewNRGBA(image.Rect(0, 0, 100, 10))
	for y := 0; y < 10; y++ {
		for x := 0; x < 100; x++ {
			if x < 50 {
				src.SetNRGBA(x, y, color.NRGBA{0, 0, 255, 255})
			} else {
				src.SetNRGBA(x, y, color.NRGBA{255, 0, 0, 0}) // clear red
			}
		}
	}
	for _, f := range []Filter{FilterFast, FilterPlanes} {
		out := toNRGBA(Scale(src, 20, 2, f))
		for x := 0; x < 20; x++ {
			p := out.NRGBAAt(x, 0)
			if p.A > 16 && p.R > 16 {
				t.Fatalf("%v: pixel %d = %v: transparent red bled in", f, x, p)
			}
		}
	}
}

func TestFilter_Names(t *testing.T) {
	for _, f := range append([]Filter{FilterDefault}, Filters...) {
		got, err := ParseFilter(f.String())
		if err != nil || got != f {
			t.Fatalf("ParseFilter(%q)=%v, %v", f.String(), got, err)
		}
	}
	if _, err := ParseFilter("nearest"); err == nil || !strings.Contains(err.Error(), "nearest") {
		t.Fatalf("ParseFilter(nearest) err=%v", err)
	}
}

// TestScale_OwnedNRGBA checks the in-place premultiply Resize uses on its
// own decoded PNGs against the copying path Scale takes for callers.
func TestScale_OwnedNRGBA(t *testing.T) {
	src := testimg.Pattern(301, 203)
	own := image.NewNRGBA(src.Rect)
	copy(own.Pix, src.Pix)
	want := Scale(src, 100, 67, FilterFast)
	got := scale(own, 100, 67, FilterFast, true)
	if !bytes.Equal(got.(*image.RGBA).Pix, want.(*image.RGBA).Pix) {
		t.Fatal("owned scale differs from Scale")
	}
	if bytes.Equal(own.Pix, src.Pix) {
		t.Fatal("owned source left untouched: the copy was not spared")
	}
	again := Scale(src, 100, 67, FilterFast)
	if !bytes.Equal(toNRGBA(again).Pix, toNRGBA(want).Pix) {
		t.Fatal("Scale modified its caller's image")
	}
}
