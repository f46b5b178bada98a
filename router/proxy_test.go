package router

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestRouter_Discover(t *testing.T) {
	fs := cluster(t, "a", "b", "c")
	// The seed lists one peer as removed: the proxy must not route to it.
	fs[0].mu.Lock()
	fs[0].peers = append(fs[0].peers, peerJSON{ID: "gone", URL: "http://127.0.0.1:1", Removed: true})
	fs[0].mu.Unlock()
	rt, _ := mustRouter(t, testConfig(fs[0].URL()))

	var ids []string
	for _, s := range rt.Servers() {
		ids = append(ids, s.ID+"="+s.Provider)
	}
	if got, want := strings.Join(ids, ","), "a=aws,b=azure,c=gcp"; got != want {
		t.Fatalf("servers=%s, want %s", got, want)
	}
	for _, s := range rt.Servers() {
		if s.st.rttSamples.Load() == 0 {
			t.Errorf("server %s has no RTT sample after ProbeAll", s.ID)
		}
	}

	t.Run("Rediscover", func(t *testing.T) {
		// A later answer from another server keeps the same *Server (and so
		// its measurements) for unchanged rows.
		before := rt.table.Load().byID["b"]
		if err := rt.Discover(t.Context()); err != nil {
			t.Fatal(err)
		}
		if rt.table.Load().byID["b"] != before {
			t.Fatal("rediscovery replaced an unchanged server")
		}
	})

	t.Run("Forget", func(t *testing.T) {
		for _, f := range fs {
			f.setPeers(fs[0], fs[1])
		}
		for i := 0; i < dropAfter; i++ {
			if err := rt.Discover(t.Context()); err != nil {
				t.Fatal(err)
			}
		}
		if got := len(rt.Servers()); got != 2 {
			t.Fatalf("servers=%d after %d refreshes without c, want 2", got, dropAfter)
		}
	})
}

func TestRouter_DiscoverSeedDown(t *testing.T) {
	cfg := testConfig("http://127.0.0.1:1")
	rt, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	if err := rt.Discover(t.Context()); err == nil {
		t.Fatal("Discover with the seed down: want error")
	}
	ps := newProxy(t, rt)
	resp, body := get(t, nil, ps+"/v1/objects/x")
	if got, want := resp.StatusCode, http.StatusServiceUnavailable; got != want {
		t.Fatalf("status=%d, want %d (%s)", got, want, body)
	}
	var e struct{ Error string }
	if err := json.Unmarshal(body, &e); err != nil || e.Error == "" {
		t.Fatalf("body %q is not a JSON error", body)
	}
}

func newProxy(t *testing.T, rt *Router) string {
	t.Helper()
	srv := NewFrontend(rt.Handler(), nil)
	ln := listenLocal(t)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String()
}

// cheapest makes a's provider the cheapest, b's next, so the price policy
// order is a, b, c.
func cheapest(t *testing.T) *fakePrices {
	return newFakePrices(t, map[string][2]float64{
		"aws": {0.01, 1}, "azure": {0.05, 1}, "gcp": {0.09, 1},
	})
}

func priceConfig(seed string, p *fakePrices) Config {
	cfg := testConfig(seed)
	cfg.PriceInfo = p.srv.URL
	cfg.Policy = PolicyPrice
	return cfg
}

func TestProxy_Reverse(t *testing.T) {
	fs := cluster(t, "a", "b", "c")
	for _, f := range fs {
		f.put("cat.jpg", []byte("meow"))
	}
	_, ps := mustRouter(t, priceConfig(fs[0].URL(), cheapest(t)))

	resp, body := get(t, nil, ps.URL+"/v1/objects/cat.jpg")
	if got, want := resp.StatusCode, http.StatusOK; got != want {
		t.Fatalf("status=%d, want %d", got, want)
	}
	if got, want := string(body), "meow"; got != want {
		t.Fatalf("body=%q, want %q", got, want)
	}
	if got, want := resp.Header.Get("X-Cdn-Server"), "a"; got != want {
		t.Fatalf("X-Cdn-Server=%q, want %q", got, want)
	}
	if got, want := resp.Header.Get("X-Cdn-Policy"), "price"; got != want {
		t.Fatalf("X-Cdn-Policy=%q, want %q", got, want)
	}
	if got, want := resp.Header.Get("X-Served-By"), "a"; got != want {
		t.Fatalf("X-Served-By=%q, want %q", got, want)
	}

	t.Run("Head", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodHead, ps.URL+"/v1/objects/cat.jpg", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.ContentLength != 4 || resp.Header.Get("X-Cdn-Server") != "a" {
			t.Fatalf("HEAD: status %d, length %d, server %q", resp.StatusCode, resp.ContentLength, resp.Header.Get("X-Cdn-Server"))
		}
	})

	t.Run("Put", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPut, ps.URL+"/v1/objects/dog.jpg", strings.NewReader("woof"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got, want := resp.StatusCode, http.StatusCreated; got != want {
			t.Fatalf("PUT status=%d, want %d", got, want)
		}
		if got := string(fs[0].objects["dog.jpg"]); got != "woof" {
			t.Fatalf("server a holds %q, want woof", got)
		}
	})
}

func TestProxy_Forward(t *testing.T) {
	fs := cluster(t, "a", "b")
	for _, f := range fs {
		f.put("cat.jpg", []byte("meow"))
	}
	_, ps := mustRouter(t, priceConfig(fs[0].URL(), cheapest(t)))
	pu, _ := url.Parse(ps.URL)
	c := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(pu)}}
	// The host is never resolved or contacted: the proxy routes by path.
	resp, body := get(t, c, "http://any-host.invalid/v1/objects/cat.jpg")
	if resp.StatusCode != 200 || string(body) != "meow" {
		t.Fatalf("forward: status %d body %q", resp.StatusCode, body)
	}
	if got, want := resp.Header.Get("X-Cdn-Server"), "a"; got != want {
		t.Fatalf("X-Cdn-Server=%q, want %q", got, want)
	}

	t.Run("Connect", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodConnect, ps.URL, nil)
		req.Host = "any-host.invalid:443"
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got, want := resp.StatusCode, http.StatusMethodNotAllowed; got != want {
			t.Fatalf("CONNECT status=%d, want %d", got, want)
		}
	})
}

func TestProxy_Failover(t *testing.T) {
	for _, tc := range []struct {
		name   string
		break_ func(f *fakeServer)
	}{
		{"Refused", func(f *fakeServer) { f.srv.Close() }},
		{"ServerError", func(f *fakeServer) { f.status.Store(http.StatusInternalServerError) }},
		{"Unavailable", func(f *fakeServer) { f.status.Store(http.StatusServiceUnavailable) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := cluster(t, "a", "b", "c")
			for _, f := range fs {
				f.put("cat.jpg", []byte("meow"))
			}
			rt, ps := mustRouter(t, priceConfig(fs[0].URL(), cheapest(t)))
			tc.break_(fs[0]) // the cheapest, so the policy's first pick

			resp, body := get(t, nil, ps.URL+"/v1/objects/cat.jpg")
			if resp.StatusCode != 200 || string(body) != "meow" {
				t.Fatalf("status %d body %q, want 200 meow", resp.StatusCode, body)
			}
			if got, want := resp.Header.Get("X-Cdn-Server"), "b"; got != want {
				t.Fatalf("X-Cdn-Server=%q, want %q", got, want)
			}
			a := rt.table.Load().byID["a"]
			if !a.st.ejected() || a.st.failures.Load() != 1 {
				t.Fatalf("a: ejected=%v failures=%d, want ejected after 1 failure", a.st.ejected(), a.st.failures.Load())
			}
			// While ejected, a is not tried at all.
			get(t, nil, ps.URL+"/v1/objects/cat.jpg")
			if got := a.st.failures.Load(); got != 1 {
				t.Fatalf("a failures=%d after a second request, want 1 (ejected servers are skipped)", got)
			}
			waitDecisions(t, rt, 2)
			ds := rt.decisions.recent(1)
			if len(ds) != 1 || ds[0].server != "b" {
				t.Fatalf("last decision %+v, want server b", ds)
			}
		})
	}
}

func TestProxy_FailoverAllDown(t *testing.T) {
	fs := cluster(t, "a", "b")
	_, ps := mustRouter(t, priceConfig(fs[0].URL(), cheapest(t)))
	fs[0].status.Store(http.StatusInternalServerError)
	fs[1].status.Store(http.StatusBadGateway)
	resp, _ := get(t, nil, ps.URL+"/v1/objects/cat.jpg")
	// The client gets the first server's own error, not a made-up one.
	if got, want := resp.StatusCode, http.StatusInternalServerError; got != want {
		t.Fatalf("status=%d, want %d", got, want)
	}
	if got, want := resp.Header.Get("X-Cdn-Server"), "a"; got != want {
		t.Fatalf("X-Cdn-Server=%q, want %q", got, want)
	}

	t.Run("AllEjected", func(t *testing.T) {
		// Every server is ejected now; a request still goes out, to the
		// least recently failed one, and succeeds once it is back.
		fs[0].status.Store(0)
		fs[1].status.Store(0)
		fs[0].put("x", []byte("1"))
		fs[1].put("x", []byte("1"))
		resp, _ := get(t, nil, ps.URL+"/v1/objects/x")
		if got, want := resp.StatusCode, 200; got != want {
			t.Fatalf("status=%d, want %d", got, want)
		}
		if got, want := resp.Header.Get("X-Cdn-Server"), "a"; got != want {
			t.Fatalf("X-Cdn-Server=%q, want %q (failed first)", got, want)
		}
	})
}

func TestProxy_NotFoundRetry(t *testing.T) {
	fs := cluster(t, "a", "b", "c")
	// Only c has the object yet: a and b lag in replication.
	fs[2].put("new.jpg", []byte("fresh"))
	rt, ps := mustRouter(t, priceConfig(fs[0].URL(), cheapest(t)))

	resp, body := get(t, nil, ps.URL+"/v1/objects/new.jpg")
	if resp.StatusCode != 200 || string(body) != "fresh" {
		t.Fatalf("status %d body %q, want 200 fresh", resp.StatusCode, body)
	}
	if got, want := resp.Header.Get("X-Cdn-Server"), "c"; got != want {
		t.Fatalf("X-Cdn-Server=%q, want %q", got, want)
	}
	for _, s := range rt.Servers() {
		if s.st.ejected() {
			t.Fatalf("server %s ejected for a 404", s.ID)
		}
	}

	t.Run("Nowhere", func(t *testing.T) {
		resp, body := get(t, nil, ps.URL+"/v1/objects/none.jpg")
		if got, want := resp.StatusCode, http.StatusNotFound; got != want {
			t.Fatalf("status=%d, want %d", got, want)
		}
		if !strings.Contains(string(body), "not found") {
			t.Fatalf("body=%q, want the server's own 404 body", body)
		}
		if got, want := resp.Header.Get("X-Cdn-Server"), "c"; got != want {
			t.Fatalf("X-Cdn-Server=%q, want %q (the last asked)", got, want)
		}
		waitDecisions(t, rt, 2)
		if got := len(rt.decisions.recent(1)[0].attempts); got != 3 {
			t.Fatalf("attempts=%d, want 3", got)
		}
	})

	t.Run("MaxNotFound", func(t *testing.T) {
		// A router of its own: a running router's settings are not
		// changed under it.
		cfg := priceConfig(fs[0].URL(), cheapest(t))
		cfg.MaxNotFound = 1
		_, ps := mustRouter(t, cfg)
		resp, _ := get(t, nil, ps.URL+"/v1/objects/new.jpg")
		if got, want := resp.StatusCode, http.StatusNotFound; got != want {
			t.Fatalf("status=%d, want %d with MaxNotFound 1", got, want)
		}
	})
}

func TestProxy_NonIdempotentOnce(t *testing.T) {
	fs := cluster(t, "a", "b")
	_, ps := mustRouter(t, priceConfig(fs[0].URL(), cheapest(t)))
	fs[0].status.Store(http.StatusInternalServerError)
	resp, err := http.Post(ps.URL+"/v1/objects/k", "text/plain", strings.NewReader("body"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got, want := resp.StatusCode, http.StatusInternalServerError; got != want {
		t.Fatalf("status=%d, want %d (no retry for POST)", got, want)
	}
	if got := fs[1].puts.Load(); got != 0 {
		t.Fatalf("b got %d writes, want 0", got)
	}
}

// TestProxy_ClientBrokenBody: an upload whose body the client breaks (a
// chunk length that is not hex) is the client's fault: 400, and the
// server stays healthy. It used to count as the server failing, and six
// such requests ejected every server.
func TestProxy_ClientBrokenBody(t *testing.T) {
	fs := cluster(t, "a", "b")
	_, ps := mustRouter(t, priceConfig(fs[0].URL(), cheapest(t)))
	addr := strings.TrimPrefix(ps.URL, "http://")
	for range 6 {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conn, "PUT /v1/objects/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n")
		res, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		conn.Close()
		if res.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), `"error"`) {
			t.Fatalf("broken body: %d %s, want 400 with a JSON error", res.StatusCode, body)
		}
	}
	_, body := get(t, nil, ps.URL+"/_proxy/status")
	var st StatusResponse
	if err := json.Unmarshal(body, &st); err != nil {
		t.Fatal(err)
	}
	for _, s := range st.Servers {
		if s.State != "healthy" || s.Failures != 0 {
			t.Fatalf("server %s is %s with %d failures after the client's broken bodies", s.ID, s.State, s.Failures)
		}
	}
}

func TestProxy_Concurrent(t *testing.T) {
	fs := cluster(t, "a", "b", "c")
	big := bytes.Repeat([]byte("0123456789abcdef"), 8<<10) // 128 KiB: feeds throughput
	for _, f := range fs {
		f.put("small", []byte("s"))
		f.put("big", big)
	}
	cfg := testConfig(fs[0].URL())
	rt, ps := mustRouter(t, cfg)
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 200}}
	defer c.CloseIdleConnections()

	var wg sync.WaitGroup
	errs := make(chan string, 200)
	for i := 0; i < 200; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key, want := "small", 1
			if i%4 == 0 {
				key, want = "big", len(big)
			}
			resp, err := c.Get(ps.URL + "/v1/objects/" + key)
			if err != nil {
				errs <- err.Error()
				return
			}
			n, err := io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != 200 || int(n) != want || resp.Header.Get("X-Cdn-Server") == "" {
				errs <- resp.Status
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Errorf("request failed: %s", e)
	}
	var total, tput uint64
	count := func() bool {
		total, tput = 0, 0
		for _, s := range rt.Servers() {
			total += s.st.requests.Load()
			tput += s.st.tputSamples.Load()
		}
		return total >= 200
	}
	// A handler counts after its last byte went out: the client may be
	// done a moment before.
	waitFor(t, "200 requests counted", count)
	if total != 200 {
		t.Fatalf("requests counted=%d, want 200", total)
	}
	if tput == 0 {
		t.Fatal("no throughput sample from 50 transfers of 128 KiB")
	}
}

func TestProxy_Status(t *testing.T) {
	fs := cluster(t, "a", "b", "c")
	fs[0].put("cat.jpg", []byte("meow"))
	rt, ps := mustRouter(t, priceConfig(fs[0].URL(), cheapest(t)))
	fs[1].srv.Close()
	get(t, nil, ps.URL+"/v1/objects/cat.jpg")
	waitDecisions(t, rt, 1)

	resp, body := get(t, nil, ps.URL+"/_proxy/status")
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	var st StatusResponse
	if err := json.Unmarshal(body, &st); err != nil {
		t.Fatalf("decode: %v\n%s", err, body)
	}
	if st.Policy != PolicyPrice || len(st.Servers) != 3 || len(st.Decisions) != 1 {
		t.Fatalf("policy %s, %d servers, %d decisions; want price, 3, 1\n%s", st.Policy, len(st.Servers), len(st.Decisions), body)
	}
	a := st.Servers[0]
	if a.ID != "a" || a.Rank != 1 || a.Score == nil || *a.Score != 0.01 || a.RTTMs == nil || a.EgressUSDPerGB == nil {
		t.Fatalf("first server %+v, want a ranked 1 with score 0.01 and an RTT", a)
	}
	if !strings.Contains(string(a.Price), "storage_usd_per_gb_month") {
		t.Fatalf("price %s does not carry the whole row", a.Price)
	}
	d := st.Decisions[0]
	if d.Server != "a" || d.Status != 200 || d.Path != "/v1/objects/cat.jpg" || !strings.Contains(d.Reason, "lowest egress") {
		t.Fatalf("decision %+v", d)
	}

	t.Run("Ejected", func(t *testing.T) {
		// b's listener is closed: a request routed to it ejects it.
		fs[0].status.Store(http.StatusServiceUnavailable)
		fs[2].put("cat.jpg", []byte("meow"))
		resp, _ := get(t, nil, ps.URL+"/v1/objects/cat.jpg")
		if got := resp.Header.Get("X-Cdn-Server"); got != "c" {
			t.Fatalf("X-Cdn-Server=%q, want c", got)
		}
		waitDecisions(t, rt, 2)
		_, body := get(t, nil, ps.URL+"/_proxy/status")
		var st StatusResponse
		json.Unmarshal(body, &st)
		states := map[string]string{}
		for _, s := range st.Servers {
			states[s.ID] = s.State
			if s.State == "ejected" && (s.EjectedUntil == nil || s.Failures == 0) {
				t.Errorf("ejected %s without ejected_until or failures: %+v", s.ID, s)
			}
		}
		if states["a"] != "ejected" || states["b"] != "ejected" || states["c"] != "healthy" {
			t.Fatalf("states %v, want a and b ejected, c healthy", states)
		}
		if r := st.Decisions[0].Reason; !strings.Contains(r, "a answered 503") || !strings.Contains(r, "b failed (connection refused)") {
			t.Fatalf("reason %q does not tell of a's 503 and b's refusal", r)
		}
	})

	t.Run("Healthz", func(t *testing.T) {
		resp, body := get(t, nil, ps.URL+"/_proxy/healthz")
		if resp.StatusCode != 200 || !strings.Contains(string(body), `"servers": 3`) {
			t.Fatalf("healthz %d %s", resp.StatusCode, body)
		}
	})

	t.Run("Metrics", func(t *testing.T) {
		_, body := get(t, nil, ps.URL+"/_proxy/metrics")
		for _, want := range []string{
			`metacdn_proxy_attempts_total{result="2xx",server="a"} 1`,
			`metacdn_proxy_attempts_total{result="error",server="b"} 1`,
			`metacdn_proxy_requests_total{policy="price",result="2xx"} 2`,
			`metacdn_proxy_server_ejected{server="b"} 1`,
			"metacdn_proxy_server_rtt_seconds",
		} {
			if !strings.Contains(string(body), want) {
				t.Errorf("metrics lack %q", want)
			}
		}
	})

	t.Run("SetPolicy", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPut, ps.URL+"/_proxy/policy?policy=combined&weight=0.25", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		_, body := get(t, nil, ps.URL+"/_proxy/status")
		var st StatusResponse
		json.Unmarshal(body, &st)
		if st.Policy != PolicyCombined || st.Weight != 0.25 {
			t.Fatalf("policy %s weight %v, want combined 0.25", st.Policy, st.Weight)
		}
		req, _ = http.NewRequest(http.MethodPut, ps.URL+"/_proxy/policy?policy=cheap", nil)
		resp, _ = http.DefaultClient.Do(req)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("bad policy: status %d, want 400", resp.StatusCode)
		}
		rec := httptest.NewRecorder()
		req = httptest.NewRequest(http.MethodPut, "/_proxy/policy?policy=price", nil)
		req.RemoteAddr = "192.0.2.7:4000" // a documentation address: never contacted
		rt.ServeHTTP(rec, req)
		if rec.Code != http.StatusForbidden {
			t.Fatalf("policy change from another host: status %d, want 403", rec.Code)
		}
	})
}

func TestRouter_Prices(t *testing.T) {
	fs := cluster(t, "a", "b", "c")
	for _, f := range fs {
		f.put("k", []byte("v"))
	}
	prices := cheapest(t)
	rt, ps := mustRouter(t, priceConfig(fs[0].URL(), prices))
	if got := rt.Decide(0).ID; got != "a" {
		t.Fatalf("pick %s, want a", got)
	}
	if err := rt.PollPrices(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got, want := prices.notMod.Load(), int64(1); got != want {
		t.Fatalf("304 answers=%d, want %d (If-None-Match)", got, want)
	}
	prices.set("gcp", 0.001, 1)
	if err := rt.PollPrices(t.Context()); err != nil {
		t.Fatal(err)
	}
	resp, _ := get(t, nil, ps.URL+"/v1/objects/k")
	if got, want := resp.Header.Get("X-Cdn-Server"), "c"; got != want {
		t.Fatalf("after gcp got cheaper: X-Cdn-Server=%q, want %q", got, want)
	}
}

func TestRouter_StartRecovers(t *testing.T) {
	fs := cluster(t, "a", "b")
	fs[0].put("k", []byte("v"))
	fs[1].put("k", []byte("v"))
	prices := cheapest(t)
	rt, err := New(priceConfig(fs[0].URL(), prices), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := rt.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	if err := rt.Start(t.Context()); err == nil {
		t.Fatal("second Start: want ErrStarted")
	}
	a := rt.table.Load().byID["a"]
	// a fails its probes: ejected by the probe loop, without any request.
	fs[0].healthFail.Store(true)
	waitFor(t, "a ejected by probes", a.st.ejected)
	if got := rt.Decide(0).ID; got != "b" {
		t.Fatalf("pick %s while a is ejected, want b", got)
	}
	// a heals: a probe after its back-off brings it back.
	fs[0].healthFail.Store(false)
	waitFor(t, "a back after probes", func() bool { return !a.st.ejected() })
	if got := rt.Decide(0).ID; got != "a" {
		t.Fatalf("pick %s after a healed, want a", got)
	}
	// New prices arrive through the price loop.
	prices.set("azure", 0.0001, 1)
	waitFor(t, "price loop", func() bool { return rt.Decide(0).ID == "b" })
	// A new server arrives through the discovery loop.
	d := newFakeServer(t, "d", "oci")
	fs[0].setPeers(fs[0], fs[1], d)
	fs[1].setPeers(fs[0], fs[1], d)
	waitFor(t, "discovery loop", func() bool { return rt.table.Load().byID["d"] != nil })
}

func TestRouter_Network(t *testing.T) {
	fs := cluster(t, "a", "b", "c")
	// a and c answer probes slowly: b is the nearest.
	fs[0].healthDelay.Store(int64(80 * time.Millisecond))
	fs[2].healthDelay.Store(int64(25 * time.Millisecond))
	for _, f := range fs {
		f.put("k", []byte("v"))
	}
	rt, ps := mustRouter(t, testConfig(fs[0].URL()))
	rt.ProbeAll(t.Context())
	rt.ProbeAll(t.Context())
	resp, _ := get(t, nil, ps.URL+"/v1/objects/k")
	if got, want := resp.Header.Get("X-Cdn-Server"), "b"; got != want {
		t.Fatalf("X-Cdn-Server=%q, want %q", got, want)
	}
	if got, want := resp.Header.Get("X-Cdn-Policy"), "network"; got != want {
		t.Fatalf("X-Cdn-Policy=%q, want %q", got, want)
	}
	order := []string{}
	for _, sc := range rt.Ranking(0) {
		order = append(order, sc.Server.ID)
	}
	if got, want := strings.Join(order, ","), "b,c,a"; got != want {
		t.Fatalf("ranking %s, want %s", got, want)
	}
}
