package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"net/http"
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
	wrk, err := exec.LookPath("wrk")
	if err != nil {
		b.Skip("wrk not installed: apt-get install wrk")
	}
	dur := os.Getenv("WRK_DURATION")
	if dur == "" {
		dur = "5s"
	}
	n := startNode(b, os.Getenv("LOG_LEVEL"))
	for _, size := range []int{10 << 10, 1 << 20} {
		body := make([]byte, size)
		rand.Read(body)
		name := strconv.Itoa(size>>10) + "KiB"
		url := n.URL() + "/v1/objects/bench/" + name + ".bin"
		put(b, http.DefaultClient, url, body)
		b.Run(name, func(b *testing.B) {
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
		})
	}
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
