package router

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeServer is a CDN server stand-in: /healthz, /v1/peers and
// /v1/objects/{key} on a real listener on 127.0.0.1.
type fakeServer struct {
	ID, Provider string
	srv          *httptest.Server

	mu      sync.Mutex
	objects map[string][]byte
	peers   []peerJSON

	status      atomic.Int32 // non-zero: every object request answers this
	healthFail  atomic.Bool  // /healthz answers 503
	healthDelay atomic.Int64 // nanoseconds /healthz waits before answering
	hits        atomic.Int64 // object requests served
	objDelay    atomic.Int64 // nanoseconds an object GET waits before answering
	started     atomic.Int64 // object GETs received
	puts        atomic.Int64
}

func newFakeServer(tb testing.TB, id, provider string) *fakeServer {
	tb.Helper()
	f := &fakeServer{ID: id, Provider: provider, objects: map[string][]byte{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	tb.Cleanup(f.srv.Close)
	return f
}

func (f *fakeServer) URL() string { return f.srv.URL }

func (f *fakeServer) put(key string, body []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.objects[key] = body
}

func (f *fakeServer) setPeers(ps ...*fakeServer) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.peers = nil
	for _, p := range ps {
		f.peers = append(f.peers, peerJSON{ID: p.ID, URL: p.URL(), Provider: p.Provider, State: "alive"})
	}
}

func (f *fakeServer) serve(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/healthz":
		if d := f.healthDelay.Load(); d > 0 {
			// Simulated link latency of this server, not a wait in the test.
			time.Sleep(time.Duration(d))
		}
		if f.healthFail.Load() {
			http.Error(w, "unhealthy", http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "ok")
	case r.URL.Path == "/v1/peers":
		f.mu.Lock()
		body := map[string]any{
			"self":  map[string]any{"id": f.ID, "url": f.URL(), "provider": f.Provider, "heads": map[string]uint64{"x": 1}},
			"peers": f.peers,
			"extra": "servers may add fields",
		}
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(body)
	case strings.HasPrefix(r.URL.Path, "/v1/objects/"):
		if code := f.status.Load(); code != 0 {
			http.Error(w, `{"error":"injected"}`, int(code))
			return
		}
		key := strings.TrimPrefix(r.URL.Path, "/v1/objects/")
		if r.Method == http.MethodPut {
			b, _ := io.ReadAll(r.Body)
			f.put(key, b)
			f.puts.Add(1)
			w.WriteHeader(http.StatusCreated)
			fmt.Fprintf(w, `{"key":%q,"size":%d}`, key, len(b))
			return
		}
		f.started.Add(1)
		if d := f.objDelay.Load(); d > 0 {
			// A slow server, not a wait in the test.
			time.Sleep(time.Duration(d))
		}
		f.mu.Lock()
		body, ok := f.objects[key]
		f.mu.Unlock()
		if !ok {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"error":"not found"}`)
			return
		}
		f.hits.Add(1)
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.Header().Set("X-Served-By", f.ID)
		w.Write(body)
	default:
		http.NotFound(w, r)
	}
}

// fakePrices is a price service stand-in with ETag support.
type fakePrices struct {
	srv     *httptest.Server
	mu      sync.Mutex
	rows    map[string][2]float64
	version int
	full    atomic.Int64 // 200 answers
	notMod  atomic.Int64 // 304 answers
}

func newFakePrices(tb testing.TB, rows map[string][2]float64) *fakePrices {
	tb.Helper()
	p := &fakePrices{rows: rows, version: 1}
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	tb.Cleanup(p.srv.Close)
	return p
}

func (p *fakePrices) set(provider string, egress, hour float64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rows[provider] = [2]float64{egress, hour}
	p.version++
}

func (p *fakePrices) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/v1/prices" {
		http.NotFound(w, r)
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	etag := fmt.Sprintf(`"v%d"`, p.version)
	if r.Header.Get("If-None-Match") == etag {
		p.notMod.Add(1)
		w.WriteHeader(http.StatusNotModified)
		return
	}
	var rows []map[string]any
	for name, v := range p.rows {
		rows = append(rows, map[string]any{"provider": name, "egress_usd_per_gb": v[0], "server_usd_per_hour": v[1], "storage_usd_per_gb_month": 0.02})
	}
	p.full.Add(1)
	w.Header().Set("ETag", etag)
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"providers": rows, "version": p.version})
}

// stdTransport makes testConfig send everything through http.Transport;
// TestProxy_StdTransport sets it to run handler tests on that path too.
var stdTransport bool

// testConfig is a Config with short intervals for servers at seed.
func testConfig(seed string) Config {
	cfg := DefaultConfig()
	cfg.StdTransport = stdTransport
	cfg.Seeds = []string{seed}
	cfg.ProbeInterval = 20 * time.Millisecond
	cfg.ProbeTimeout = time.Second
	cfg.DiscoveryInterval = 50 * time.Millisecond
	cfg.PriceInterval = 20 * time.Millisecond
	cfg.EjectBase = 50 * time.Millisecond
	cfg.EjectMax = 200 * time.Millisecond
	return cfg
}

// mustRouter builds a Router with loops off: the test calls Discover,
// PollPrices and ProbeAll itself.
func mustRouter(tb testing.TB, cfg Config) (*Router, *testProxy) {
	tb.Helper()
	rt, err := New(cfg, nil)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	ctx := tb.Context()
	if err := rt.Discover(ctx); err != nil {
		tb.Fatalf("Discover: %v", err)
	}
	if err := rt.PollPrices(ctx); err != nil {
		tb.Fatalf("PollPrices: %v", err)
	}
	rt.ProbeAll(ctx)
	ps := startFrontend(tb, rt)
	tb.Cleanup(func() {
		ps.Close()
		rt.Close()
	})
	return rt, ps
}

// testProxy is a Frontend serving a Router on a loopback port.
type testProxy struct {
	URL string
	fe  *Frontend
}

func (p *testProxy) Close() { p.fe.Close() }

func startFrontend(tb testing.TB, rt *Router) *testProxy {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("listen: %v", err)
	}
	fe := NewFrontend(rt.Handler(), nil)
	go fe.Serve(ln)
	return &testProxy{URL: "http://" + ln.Addr().String(), fe: fe}
}

// cluster makes n fake servers that all list each other.
func cluster(tb testing.TB, ids ...string) []*fakeServer {
	tb.Helper()
	var fs []*fakeServer
	for i, id := range ids {
		fs = append(fs, newFakeServer(tb, id, []string{"aws", "azure", "gcp", "oci"}[i%4]))
	}
	for _, f := range fs {
		f.setPeers(fs...)
	}
	return fs
}

func get(tb testing.TB, c *http.Client, url string) (*http.Response, []byte) {
	tb.Helper()
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Get(url)
	if err != nil {
		tb.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatalf("GET %s: read: %v", url, err)
	}
	return resp, b
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitDecisions waits until n requests have finished: a handler records
// its decision after the last byte went out, a moment after the client
// may have read it.
func waitDecisions(tb testing.TB, rt *Router, n uint64) {
	tb.Helper()
	waitFor(tb, fmt.Sprintf("%d decisions", n), func() bool { return rt.decisions.next.Load() >= n })
}
