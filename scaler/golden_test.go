package scaler

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"metacdn/scaler/testimg"
)

var update = flag.Bool("update", false, "rewrite testdata/golden from the current output")

// goldenTolerance is the mean absolute difference per channel (0-255) that
// still matches: room for encoder or rounding changes, far below what a
// broken filter, a shifted image or swapped channels cost.
const goldenTolerance = 1.5

// TestGolden resizes fixed inputs with the default filter and compares the
// decoded output with testdata/golden. Run with -update to regenerate.
func TestGolden(t *testing.T) {
	tests := []struct {
		name  string
		data  []byte
		width int
		opts  Options
	}{
		{"photo_jpeg_160", smallJPEG, 160, Options{}},
		{"photo_jpeg_251", smallJPEG, 251, Options{}},
		{"photo_jpeg_q50_200", smallJPEG, 200, Options{Quality: 50}},
		{"photo_large_jpeg_320", testimg.PhotoJPEG(1280, 960, 7, 85), 320, Options{}},
		{"pattern_png_97", smallPNG, 97, Options{}},
		{"pattern_png_planes_150", smallPNG, 150, Options{Filter: FilterPlanes}},
		{"pattern_gif_100", smallGIF, 100, Options{}},
		{"webp_lossy_64", mustRead(t, "testdata/blue-purple-pink.lossy.webp"), 64, Options{}},
		{"webp_alpha_64", mustRead(t, "testdata/gopher-doc.with-alpha.lossless.webp"), 64, Options{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Resize(tc.data, tc.width, tc.opts)
			if err != nil {
				t.Fatalf("Resize: %v", err)
			}
			got := mustDecode(t, res.Data)
			path := filepath.Join("testdata", "golden", tc.name+".png")
			if *update {
				if err := os.WriteFile(path, encodePNG(t, got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want := mustDecode(t, mustRead(t, path))
			if got.Bounds().Size() != want.Bounds().Size() {
				t.Fatalf("size %v, golden %v", got.Bounds().Size(), want.Bounds().Size())
			}
			if d := meanAbsDiff(got, want); d > goldenTolerance {
				t.Fatalf("mean abs diff %.2f over %.2f; if intended, rerun with -update", d, goldenTolerance)
			}
		})
	}
}

// TestGolden_DetectsChange guards the guard: a visibly different image must
// fail the tolerance.
func TestGolden_DetectsChange(t *testing.T) {
	res, err := Resize(smallJPEG, 160, Options{})
	if err != nil {
		t.Fatal(err)
	}
	bad, err := Resize(smallJPEG, 160, Options{Filter: FilterApproxBiLinear, Quality: 5})
	if err != nil {
		t.Fatal(err)
	}
	if d := meanAbsDiff(mustDecode(t, res.Data), mustDecode(t, bad.Data)); d <= goldenTolerance {
		t.Fatalf("quality 5 differs by %.2f only: tolerance too loose", d)
	}
}
