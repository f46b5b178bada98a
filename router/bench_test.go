package router

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"testing"
	"time"
)

// BenchmarkProxy compares GETs straight to a server on loopback with the
// same GETs through the proxy (proxy-std: with StdTransport set). p50-us is the median request time; the
// proxy's added latency is the difference of the two medians. The
// parallel runs give requests per second with GOMAXPROCS clients.
func BenchmarkProxy(b *testing.B) {
	for _, size := range []int{1 << 10, 1 << 20} {
		f := newFakeServer(b, "a", "aws")
		f.setPeers(f)
		f.put("obj", bytes.Repeat([]byte("x"), size))
		cfg := testConfig(f.URL())
		_, ps := mustRouter(b, cfg)
		cfg.StdTransport = true
		_, pstd := mustRouter(b, cfg)
		// The standard library's reverse proxy with the same tuned
		// transport, for comparison.
		target, _ := url.Parse(f.URL())
		rp := httputil.NewSingleHostReverseProxy(target)
		rp.Transport = &http.Transport{MaxIdleConnsPerHost: 256, DisableCompression: true}
		rps := httptest.NewServer(rp)
		b.Cleanup(rps.Close)
		for _, via := range []struct{ name, base string }{{"direct", f.URL()}, {"proxy", ps.URL}, {"proxy-std", pstd.URL}, {"reverseproxy", rps.URL}} {
			url := via.base + "/v1/objects/obj"
			c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true}}
			b.Run(fmt.Sprintf("size=%dKiB/%s", size>>10, via.name), func(b *testing.B) {
				b.SetBytes(int64(size))
				lat := make([]time.Duration, 0, 1<<16)
				for b.Loop() {
					start := time.Now()
					fetch(b, c, url, size)
					if len(lat) < cap(lat) {
						lat = append(lat, time.Since(start))
					}
				}
				slices.Sort(lat)
				b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds())/1e3, "p50-us")
			})
			b.Run(fmt.Sprintf("size=%dKiB/%s/parallel", size>>10, via.name), func(b *testing.B) {
				b.SetBytes(int64(size))
				start := time.Now()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						fetch(b, c, url, size)
					}
				})
				b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
			})
			c.CloseIdleConnections()
		}
	}
}

func fetch(b *testing.B, c *http.Client, url string, size int) {
	resp, err := c.Get(url)
	if err != nil {
		b.Fatal(err)
	}
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil || n != int64(size) || resp.StatusCode != 200 {
		b.Fatalf("GET %s: %d bytes, status %d, %v", url, n, resp.StatusCode, err)
	}
}
