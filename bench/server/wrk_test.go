package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"
)

var (
	wrkRPS      = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	wrkRequests = regexp.MustCompile(`(\d+) requests in`)
)

// BenchmarkGetWrk loads an in-process node with wrk (which must be
// installed: apt-get install wrk) for WRK_DURATION (default 5s) per op.
// wrk is another process, so the process's CPU time and allocations are
// the server's own; they are reported per request, which a busy machine
// disturbs far less than req/s. A CPU profile of the run holds the
// server's work only:
//
//	go test -run '^$' -bench GetWrk/10KiB -benchtime 1x -cpuprofile cpu.out ./bench/server/
func BenchmarkGetWrk(b *testing.B) {
	n := startNode(b, os.Getenv("LOG_LEVEL"))
	for _, size := range []int{10 << 10, 1 << 20} {
		body := make([]byte, size)
		rand.Read(body)
		url := n.URL() + "/v1/objects/bench/" + sizeName(size) + ".bin"
		put(b, http.DefaultClient, url, body)
		b.Run(sizeName(size), func(b *testing.B) { runWrk(b, url) })
	}
}

// BenchmarkGetWrkFloor is BenchmarkGetWrk against a bare net/http server
// that writes the same bytes from memory: no router, middleware, metrics
// or storage. It is what Go's HTTP server costs on this machine, the
// floor under the node's figures.
func BenchmarkGetWrkFloor(b *testing.B) {
	for _, size := range []int{10 << 10, 1 << 20} {
		body := make([]byte, size)
		rand.Read(body)
		length := strconv.Itoa(size)
		ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", length)
			w.Write(body)
		}))
		b.Run(sizeName(size), func(b *testing.B) { runWrk(b, ts.URL+"/") })
		ts.Close()
	}
}

func sizeName(size int) string {
	if size >= 1<<20 {
		return strconv.Itoa(size>>20) + "MiB"
	}
	return strconv.Itoa(size>>10) + "KiB"
}

// runWrk runs wrk -t1 -c32 against url b.N times and reports the means.
func runWrk(b *testing.B, url string) {
	wrk, err := exec.LookPath("wrk")
	if err != nil {
		b.Skip("wrk not installed: apt-get install wrk")
	}
	dur := os.Getenv("WRK_DURATION")
	if dur == "" {
		dur = "5s"
	}
	var rps, reqs float64
	var cpu time.Duration
	var allocs, bytes0 uint64
	for range b.N {
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		c0 := cpuTime(b)
		out, err := exec.CommandContext(context.Background(), wrk, "-t1", "-c32", "-d"+dur, url).CombinedOutput()
		cpu += cpuTime(b) - c0
		runtime.ReadMemStats(&m1)
		allocs += m1.Mallocs - m0.Mallocs
		bytes0 += m1.TotalAlloc - m0.TotalAlloc
		if err != nil || bytes.Contains(out, []byte("Non-2xx")) {
			b.Fatalf("wrk: %v\n%s", err, out)
		}
		rps += parseFloat(b, wrkRPS, out)
		reqs += parseFloat(b, wrkRequests, out)
	}
	b.ReportMetric(rps/float64(b.N), "req/s")
	b.ReportMetric(float64(cpu.Microseconds())/reqs, "cpu-µs/req")
	b.ReportMetric(float64(allocs)/reqs, "allocs/req")
	b.ReportMetric(float64(bytes0)/reqs, "B/req")
}

func parseFloat(tb testing.TB, re *regexp.Regexp, out []byte) float64 {
	tb.Helper()
	m := re.FindSubmatch(out)
	if m == nil {
		tb.Fatalf("wrk output lacks %s:\n%s", re, out)
	}
	v, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

// cpuTime is the user and system CPU time this process has used.
func cpuTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
