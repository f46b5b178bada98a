package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"metacdn/fixtures"
	"metacdn/fixtures/ports"
)

// freeBasePort finds a port P with P..P+3 and P+10 free on loopback.
func freeBasePort(t *testing.T) int {
	t.Helper()
	base, err := ports.FreeBase(1, 2, 3, 10)
	if err != nil {
		t.Fatal(err)
	}
	return base
}

func TestDemo_Runs(t *testing.T) {
	for _, tlsOn := range []bool{false, true} {
		t.Run(fmt.Sprintf("TLS=%v", tlsOn), func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.BasePort = freeBasePort(t)
			cfg.TLS = tlsOn
			cfg.DataDir = t.TempDir()
			ctx, cancel := context.WithCancel(context.Background())
			var out, logs fixtures.SyncBuffer
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
