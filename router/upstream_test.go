package router

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// rawServer is a server on 127.0.0.1 with a handler of the test's own and
// a count of the TCP connections it accepted.
func rawServer(t *testing.T, h http.HandlerFunc) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			io.WriteString(w, "ok")
			return
		}
		h(w, r)
	}))
	srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, &conns
}

// staticConfig names servers a, b, c... with providers pa, pb, pc...
func staticConfig(servers ...*httptest.Server) Config {
	cfg := testConfig("http://127.0.0.1:1")
	cfg.Seeds = nil
	cfg.Policy = PolicyPrice
	for i, s := range servers {
		id := string(rune('a' + i))
		cfg.Static = append(cfg.Static, StaticServer{ID: id, URL: s.URL, Provider: "p" + id})
	}
	return cfg
}

// inOrder prices the providers of staticConfig so that the price policy
// tries a, then b, then c...
func inOrder(rt *Router) {
	pt := &priceTable{rows: map[string]*Price{}}
	for i, s := range rt.Servers() {
		pt.rows[s.Provider] = &Price{Provider: s.Provider, EgressPerGB: 0.01 * float64(i+1)}
	}
	rt.setPrices(pt)
}

func TestUpstream_Reuse(t *testing.T) {
	srv, conns := rawServer(t, func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s %s ua=%q", r.Method, r.URL.RequestURI(), r.Header.Get("User-Agent"))
	})
	rt, ps := mustRouter(t, staticConfig(srv))
	if rt.table.Load().byID["a"].fast == nil {
		t.Fatal("http server without the lean client")
	}
	before := conns.Load()
	for i := 0; i < 20; i++ {
		_, body := get(t, nil, ps.URL+"/v1/objects/a%20b?w=100&x=1")
		if got, want := string(body), `GET /v1/objects/a%20b?w=100&x=1 ua="Go-http-client/1.1"`; got != want {
			t.Fatalf("server saw %s, want %s", got, want)
		}
	}
	// Probes and requests share connections; 20 sequential GETs need at
	// most one more.
	if got := conns.Load() - before; got > 1 {
		t.Fatalf("%d new connections for 20 sequential GETs, want at most 1", got)
	}
}

func TestUpstream_StaleConnection(t *testing.T) {
	srv, _ := rawServer(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "fresh") })
	rt, ps := mustRouter(t, staticConfig(srv))
	get(t, nil, ps.URL+"/v1/objects/k")
	// The server drops its idle connections, as an idle timeout would: the
	// proxy's pooled one is dead, and the next request must not notice.
	srv.CloseClientConnections()
	for i := 0; i < 3; i++ {
		resp, body := get(t, nil, ps.URL+"/v1/objects/k")
		if resp.StatusCode != 200 || string(body) != "fresh" {
			t.Fatalf("after the server closed idle connections: %d %q", resp.StatusCode, body)
		}
	}
	if a := rt.table.Load().byID["a"]; a.st.failures.Load() != 0 {
		t.Fatalf("a stale pooled connection counted as %d failures", a.st.failures.Load())
	}
}

func TestUpstream_Chunked(t *testing.T) {
	srv, _ := rawServer(t, func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i < 5; i++ {
			fmt.Fprintf(w, "part%d;", i)
			w.(http.Flusher).Flush()
		}
	})
	_, ps := mustRouter(t, staticConfig(srv))
	for i := 0; i < 2; i++ { // twice: the connection is reused after a chunked body
		resp, body := get(t, nil, ps.URL+"/v1/objects/stream")
		if got, want := string(body), "part0;part1;part2;part3;part4;"; got != want {
			t.Fatalf("body %q, want %q", got, want)
		}
		if resp.ContentLength != -1 {
			t.Fatalf("content length %d, want unknown (chunked)", resp.ContentLength)
		}
	}
}

func TestUpstream_HeaderTimeout(t *testing.T) {
	release := make(chan struct{})
	slow, _ := rawServer(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	fast, _ := rawServer(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "b") })
	cfg := staticConfig(slow, fast)
	cfg.HeaderTimeout = 100 * time.Millisecond
	rt, ps := mustRouter(t, cfg)
	inOrder(rt)
	resp, body := get(t, nil, ps.URL+"/v1/objects/k")
	if resp.StatusCode != 200 || string(body) != "b" || resp.Header.Get("X-Cdn-Server") != "b" {
		t.Fatalf("status %d body %q server %q, want 200 from b", resp.StatusCode, body, resp.Header.Get("X-Cdn-Server"))
	}
	if a := rt.table.Load().byID["a"]; !a.st.ejected() {
		t.Fatal("a server over the header timeout is not ejected")
	}
	waitDecisions(t, rt, 1)
	if r := rt.decisions.recent(1)[0].reason(); !strings.Contains(r, "a failed (timeout)") {
		t.Fatalf("reason %q does not name the timeout", r)
	}
}

func TestUpstream_BodyCut(t *testing.T) {
	srv, _ := rawServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000")
		w.WriteHeader(200)
		io.WriteString(w, strings.Repeat("x", 500))
		w.(http.Flusher).Flush()
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	})
	rt, ps := mustRouter(t, staticConfig(srv))
	// The client must see an error, never a whole-looking body: either
	// the connection ends before the headers or in the middle of the body.
	resp, err := http.Get(ps.URL + "/v1/objects/k")
	if err == nil {
		n, err := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err == nil {
			t.Fatalf("read %d bytes of a cut body without an error", n)
		}
	}
	a := rt.table.Load().byID["a"]
	waitFor(t, "failure counted", func() bool { return a.st.failures.Load() == 1 })
}

// TestProxy_StdTransport runs the handler tests again with every request
// on http.Transport, the path of bodies and TLS.
func TestProxy_StdTransport(t *testing.T) {
	stdTransport = true
	defer func() { stdTransport = false }()
	for name, test := range map[string]func(*testing.T){
		"Reverse": TestProxy_Reverse, "Forward": TestProxy_Forward, "Failover": TestProxy_Failover,
		"FailoverAllDown": TestProxy_FailoverAllDown, "NotFoundRetry": TestProxy_NotFoundRetry,
		"Concurrent": TestProxy_Concurrent, "HeaderTimeout": TestUpstream_HeaderTimeout,
		"BodyCut": TestUpstream_BodyCut, "Chunked": TestUpstream_Chunked,
	} {
		t.Run(name, test)
	}
}

func TestUpstream_StdTransport(t *testing.T) {
	srv, _ := rawServer(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "std") })
	cfg := staticConfig(srv)
	cfg.StdTransport = true
	rt, ps := mustRouter(t, cfg)
	if rt.table.Load().byID["a"].fast != nil {
		t.Fatal("StdTransport set, but the lean client is in use")
	}
	if _, body := get(t, nil, ps.URL+"/v1/objects/k"); string(body) != "std" {
		t.Fatalf("body %q", body)
	}
}
