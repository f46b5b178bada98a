package scaler

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"
	"slices"
	"sync"
	"testing"
	"time"

	"metacdn/scaler/testimg"
)

// The benchmark input: a 4000x3000 photo-like JPEG at quality 85, made at
// bench time (about 2.3 MB), resized to 640 wide as a CDN variant is.
const (
	benchW, benchH = 4000, 3000
	benchTarget    = 640
)

var (
	benchOnce sync.Once
	benchJPEG []byte
	benchRef  image.Image // x/image/draw CatmullRom of the full decode
)

func benchInput(b *testing.B) ([]byte, image.Image) {
	b.Helper()
	benchOnce.Do(func() {
		benchJPEG = testimg.PhotoJPEG(benchW, benchH, 1, 85)
		src, err := jpeg.Decode(bytes.NewReader(benchJPEG))
		if err != nil {
			panic(err)
		}
		benchRef = Scale(src, benchTarget, ScaledHeight(benchW, benchH, benchTarget), FilterCatmullRom)
	})
	return benchJPEG, benchRef
}

// reportP50 runs fn b.N times and reports the median wall time in
// milliseconds next to Go's mean, as one slow GC cycle skews a mean, and
// the CPU time per run (all threads, GC included), which other processes'
// load disturbs far less.
func reportP50(b *testing.B, fn func()) {
	d := make([]time.Duration, 0, b.N)
	cpu0 := cpuTime()
	for b.Loop() {
		t := time.Now()
		fn()
		d = append(d, time.Since(t))
	}
	cpu := cpuTime() - cpu0
	slices.Sort(d)
	b.ReportMetric(float64(d[len(d)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(cpu.Microseconds())/1000/float64(len(d)), "cpu-ms/op")
}

// benchFidelity scores the pixels f produces, before encoding, against the
// Catmull-Rom reference: JPEG loss would otherwise drown the filters'
// differences.
func benchFidelity(b *testing.B, src []byte, ref image.Image, f Filter) (psnr, ssim float64) {
	b.Helper()
	got, _, err := resizePixels(src, benchTarget, f, DefaultLimits())
	if err != nil {
		b.Fatal(err)
	}
	return Fidelity(got, ref)
}

// BenchmarkResizeJPEG is decode + resize + encode (quality 80) of the
// 4000x3000 JPEG to 640 wide, per filter, with the fidelity of its pixels.
func BenchmarkResizeJPEG(b *testing.B) {
	for _, f := range append([]Filter{FilterDefault}, Filters...) {
		b.Run(f.String(), func(b *testing.B) {
			src, ref := benchInput(b)
			psnr, ssim := benchFidelity(b, src, ref, f)
			b.ResetTimer()
			reportP50(b, func() {
				if _, err := Resize(src, benchTarget, Options{Filter: f}); err != nil {
					b.Fatal(err)
				}
			})
			b.ReportMetric(psnr, "psnr-dB")
			b.ReportMetric(ssim, "ssim")
		})
	}
}

// BenchmarkJPEGMargin compares how far above the target the DCT-domain
// scaled decode of FilterFast stops.
func BenchmarkJPEGMargin(b *testing.B) {
	for _, m := range []int{1, 2} {
		b.Run(fmt.Sprint(m), func(b *testing.B) {
			defer func(old int) { jpegShrinkMargin = old }(jpegShrinkMargin)
			jpegShrinkMargin = m
			src, ref := benchInput(b)
			psnr, ssim := benchFidelity(b, src, ref, FilterFast)
			b.ResetTimer()
			reportP50(b, func() {
				if _, err := Resize(src, benchTarget, Options{}); err != nil {
					b.Fatal(err)
				}
			})
			b.ReportMetric(psnr, "psnr-dB")
			b.ReportMetric(ssim, "ssim")
		})
	}
}

// BenchmarkDecodeJPEG is the standard library's decode alone: the floor for
// any filter that decodes the full image.
func BenchmarkDecodeJPEG(b *testing.B) {
	src, _ := benchInput(b)
	b.ResetTimer()
	reportP50(b, func() {
		if _, err := jpeg.Decode(bytes.NewReader(src)); err != nil {
			b.Fatal(err)
		}
	})
}

// BenchmarkScale is the pixel step alone, on the decoded YCbCr image.
func BenchmarkScale(b *testing.B) {
	src, _ := benchInput(b)
	img, err := jpeg.Decode(bytes.NewReader(src))
	if err != nil {
		b.Fatal(err)
	}
	for _, f := range Filters {
		b.Run(f.String(), func(b *testing.B) {
			reportP50(b, func() { Scale(img, benchTarget, benchH*benchTarget/benchW, f) })
		})
	}
}
