package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"metacdn/fixtures"
)

// freeBasePort finds a port P with P..P+3 and P+10 free on loopback.
func freeBasePort(t *testing.T) int {
	t.Helper()
	for try := 0; try < 50; try++ {
		var lns []net.Listener
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		base := ln.Addr().(*net.TCPAddr).Port
		lns = append(lns, ln)
		ok := base+10 < 65535
		for _, off := range []int{1, 2, 3, 10} {
			if !ok {
				break
			}
			l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", base+off))
			if err != nil {
				ok = false
				break
			}
			lns = append(lns, l)
		}
		for _, l := range lns {
			l.Close()
		}
		if ok {
			return base
		}
	}
	t.Fatal("no free run of ports")
	return 0
}

// syncBuffer is a bytes.Buffer safe for the demo's writes and the test's
// reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestDemo_Runs(t *testing.T) {
	for _, tlsOn := range []bool{false, true} {
		t.Run(fmt.Sprintf("TLS=%v", tlsOn), func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.BasePort = freeBasePort(t)
			cfg.TLS = tlsOn
			cfg.DataDir = t.TempDir()
			ctx, cancel := context.WithCancel(context.Background())
			var out, logs syncBuffer
			done := make(chan error, 1)
			go func() { done <- Run(ctx, cfg, &out, &logs) }()
			defer func() {
				cancel()
				if err := <-done; err != nil {
					t.Errorf("Run: %v", err)
				}
			}()
			proxy := fmt.Sprintf("http://127.0.0.1:%d", cfg.BasePort)
			if err := fixtures.WaitHealthy(http.DefaultClient, proxy+"/_proxy/healthz", 30*time.Second); err != nil {
				t.Fatalf("proxy: %v\n%s", err, logs.String())
			}
			deadline := time.Now().Add(30 * time.Second)
			for !strings.Contains(out.String(), "Try:") {
				if time.Now().After(deadline) {
					t.Fatalf("no guide printed:\n%s\n%s", out.String(), logs.String())
				}
				time.Sleep(20 * time.Millisecond)
			}
			res, err := http.Get(proxy + "/v1/objects/hello.txt")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != 200 || string(body) != "Hello from metacdn.\n" || res.Header.Get("X-Cdn-Server") == "" {
				t.Fatalf("through the proxy: %d %q server %q", res.StatusCode, body, res.Header.Get("X-Cdn-Server"))
			}
		})
	}
}
