package jpegscale

import (
	"bytes"
	"fmt"
	"sync"
	"testing"

	"metacdn/scaler/testimg"
)

var (
	benchOnce sync.Once
	benchSrc  []byte
)

// BenchmarkDecodeScaled decodes a 4000x3000 photo-like JPEG at each scale.
func BenchmarkDecodeScaled(b *testing.B) {
	benchOnce.Do(func() { benchSrc = testimg.PhotoJPEG(4000, 3000, 1, 85) })
	for _, denom := range []int{1, 2, 4, 8} {
		b.Run(fmt.Sprint(denom), func(b *testing.B) {
			cpu0, n := cpuTime(), 0
			for b.Loop() {
				if _, err := DecodeScaled(bytes.NewReader(benchSrc), denom); err != nil {
					b.Fatal(err)
				}
				n++
			}
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/1000/float64(n), "cpu-ms/op")
		})
	}
}
