package router

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
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

// BenchmarkLeanPath is one small GET through the lean front and the lean
// upstream client, the path the proxy's commonest request takes, against
// a raw server that answers every request with the same canned 10 KiB
// answer, from a raw client on one keep-alive connection. Neither end
// allocates, so allocs/op is the proxy's own. ns/op is a round trip's
// latency, waits included: it is no measure of CPU time.
func BenchmarkLeanPath(b *testing.B) {
	body := bytes.Repeat([]byte("x"), 10<<10)
	ans := []byte("HTTP/1.1 200 OK\r\nAccept-Ranges: bytes\r\nContent-Length: 10240\r\n" +
		"Content-Type: application/octet-stream\r\n" +
		"Etag: \"5cf43310f382df43a348acacc53e7035059040f9a533d8806de55f26b3fcfd95\"\r\n" +
		"Last-Modified: Wed, 25 Nov 2026 19:08:27 GMT\r\nDate: Wed, 25 Nov 2026 19:09:34 GMT\r\n\r\n")
	ans = append(ans, body...)
	health := []byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
	ln := serveConns(b, func(nc net.Conn) {
		buf := make([]byte, 8<<10)
		n := 0
		for {
			i := bytes.Index(buf[:n], []byte("\r\n\r\n"))
			if i < 0 {
				m, err := nc.Read(buf[n:])
				if err != nil {
					return
				}
				n += m
				continue
			}
			out := ans
			if bytes.Contains(buf[:i], []byte("/healthz")) {
				out = health
			}
			if _, err := nc.Write(out); err != nil {
				return
			}
			n = copy(buf, buf[i+4:n])
		}
	})
	cfg := testConfig("http://127.0.0.1:1")
	cfg.Seeds = nil
	cfg.Static = []StaticServer{{ID: "a", URL: "http://" + ln.Addr().String(), Provider: "p"}}
	_, ps := mustRouter(b, cfg)
	nc, err := net.Dial("tcp", strings.TrimPrefix(ps.URL, "http://"))
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	req := []byte("GET /v1/objects/b/10k HTTP/1.1\r\nHost: " + strings.TrimPrefix(ps.URL, "http://") + "\r\n\r\n")
	buf := make([]byte, 64<<10)
	roundTrip := func() {
		if _, err := nc.Write(req); err != nil {
			b.Fatal(err)
		}
		n, want := 0, -1
		for want < 0 || n < want {
			m, err := nc.Read(buf[n:])
			if err != nil {
				b.Fatal(err)
			}
			n += m
			if want < 0 {
				if i := bytes.Index(buf[:n], []byte("\r\n\r\n")); i >= 0 {
					if !bytes.HasPrefix(buf, []byte("HTTP/1.1 200 ")) {
						b.Fatalf("answer %q", buf[:i])
					}
					want = i + 4 + len(body)
				}
			}
		}
		if n != want {
			b.Fatalf("%d bytes, want %d", n, want)
		}
	}
	for range 100 {
		roundTrip()
	}
	b.ReportAllocs()
	for b.Loop() {
		roundTrip()
	}
}
