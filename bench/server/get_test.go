package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"testing"

	"metacdn/node"
)

// startNode starts a node on a loopback port with its database in a temp
// dir, logging at level (default warn) into nowhere: the level decides what each request
// costs, not where the lines go.
func startNode(tb testing.TB, level string) *node.Node {
	tb.Helper()
	if level == "" {
		level = "warn"
	}
	log, err := node.NewLogger(io.Discard, level, "text")
	if err != nil {
		tb.Fatal(err)
	}
	cfg := node.DefaultConfig()
	cfg.ID = "bench"
	cfg.Listen = "127.0.0.1:0"
	cfg.DataDir = tb.TempDir()
	n, err := node.Start(context.Background(), cfg, log)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { n.Close() })
	return n
}

func put(tb testing.TB, c *http.Client, url string, body []byte) {
	tb.Helper()
	req, err := http.NewRequest(http.MethodPut, url, bytes.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		tb.Fatalf("PUT %s: %s", url, resp.Status)
	}
}

// BenchmarkGet measures whole GETs of one object over loopback with
// keep-alive connections, as wrk does; client time is part of each op.
func BenchmarkGet(b *testing.B) {
	for _, level := range []string{"warn", "info"} {
		n := startNode(b, level)
		c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
		for _, size := range []int{10 << 10, 1 << 20} {
			body := make([]byte, size)
			rand.Read(body)
			name := fmt.Sprintf("%dKiB", size>>10)
			if size >= 1<<20 {
				name = fmt.Sprintf("%dMiB", size>>20)
			}
			url := n.URL() + "/v1/objects/bench/" + name + ".bin"
			put(b, c, url, body)
			b.Run(name+"/log="+level, func(b *testing.B) {
				b.SetBytes(int64(size))
				b.ReportAllocs()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						resp, err := c.Get(url)
						if err != nil {
							b.Error(err)
							return
						}
						got, _ := io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						if resp.StatusCode != http.StatusOK || got != int64(size) {
							b.Errorf("GET: %s, %d bytes", resp.Status, got)
							return
						}
					}
				})
			})
		}
	}
}
