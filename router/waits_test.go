package router

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// TestProxy_GivesUpHungServer: the cheapest server stops answering (a
// network emulator drops every byte both ways, connections stay open)
// while requests wait for it. When a health probe fails, the waiting
// requests move on to the next server at once, instead of waiting out a
// header timeout (an hour here, so a request that is not given up never
// comes back within the client's bound).
func TestProxy_GivesUpHungServer(t *testing.T) {
	for _, std := range []bool{false, true} {
		name := map[bool]string{false: "Lean", true: "StdTransport"}[std]
		t.Run(name, func(t *testing.T) { testGivesUpHungServer(t, std) })
	}
}

func testGivesUpHungServer(t *testing.T, std bool) {
	fs := cluster(t, "a", "b")
	for _, f := range fs {
		f.put("cat.jpg", []byte("meow"))
	}
	tp := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), zerolog.Nop())
	p := toxiproxy.NewProxy(tp, "a", "127.0.0.1:0", strings.TrimPrefix(fs[0].URL(), "http://"))
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Stop)
	// Every server lists a at the emulator's address.
	for _, f := range fs {
		f.mu.Lock()
		for i := range f.peers {
			if f.peers[i].ID == "a" {
				f.peers[i].URL = "http://" + p.Listen
			}
		}
		f.mu.Unlock()
	}
	cfg := priceConfig(fs[1].URL(), cheapest(t))
	cfg.StdTransport = std
	cfg.HeaderTimeout = time.Hour
	cfg.ProbeTimeout = 300 * time.Millisecond
	rt, ps := mustRouter(t, cfg)
	a := rt.table.Load().byID["a"]
	if a == nil || a.st.ejected() {
		t.Fatal("a is not in rotation")
	}

	for _, stream := range []string{"upstream", "downstream"} {
		js := `{"name":"hang-` + stream + `","type":"timeout","stream":"` + stream + `","toxicity":1,"attributes":{"timeout":0}}`
		if _, err := p.Toxics.AddToxicJson(strings.NewReader(js)); err != nil {
			t.Fatalf("toxic: %v", err)
		}
	}
	const n = 4
	client := &http.Client{Timeout: 20 * time.Second}
	var wg sync.WaitGroup
	errs := make(chan string, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := client.Get(ps.URL + "/v1/objects/cat.jpg")
			if err != nil {
				errs <- err.Error()
				return
			}
			resp.Body.Close()
			if got := resp.Header.Get("X-Cdn-Server"); resp.StatusCode != 200 || got != "b" {
				errs <- resp.Status + " from " + got + ", want 200 from b"
			}
		}()
	}
	// All four wait on a, the cheapest; then a probe finds a hung.
	waitFor(t, "4 requests waiting on a", func() bool {
		a.waits.mu.Lock()
		defer a.waits.mu.Unlock()
		return len(a.waits.set) == n
	})
	rt.ProbeAll(context.Background())
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if !a.st.ejected() {
		t.Fatal("a not ejected after its probe failed")
	}
	// The probe's failure is counted once, not once more per request.
	if got := a.st.consecutiveFailures(); got != 1 {
		t.Fatalf("a has %d consecutive failures, want 1", got)
	}
}

// TestProxy_KeepsLastAttempt: a request with no healthy server left to
// move on to is not given up when its server fails a probe: a server
// that misses a probe may be slow rather than gone, and the request gets
// its answer late instead of a 502 at once.
func TestProxy_KeepsLastAttempt(t *testing.T) {
	for _, std := range []bool{false, true} {
		name := map[bool]string{false: "Lean", true: "StdTransport"}[std]
		t.Run(name, func(t *testing.T) {
			fs := cluster(t, "a", "b")
			for _, f := range fs {
				f.put("cat.jpg", []byte("meow"))
			}
			cfg := priceConfig(fs[0].URL(), cheapest(t))
			cfg.StdTransport = std
			cfg.ProbeTimeout = 200 * time.Millisecond
			rt, ps := mustRouter(t, cfg)
			fs[1].srv.Close() // b is down: a is the only server left
			rt.ProbeAll(context.Background())
			a, b := rt.table.Load().byID["a"], rt.table.Load().byID["b"]
			if a.st.ejected() || !b.st.ejected() {
				t.Fatalf("ejected: a %v, b %v; want only b", a.st.ejected(), b.st.ejected())
			}
			// a is slow: its answer takes 600 ms, and it misses a probe.
			fs[0].objDelay.Store(int64(600 * time.Millisecond))
			fs[0].healthDelay.Store(int64(400 * time.Millisecond))
			type result struct {
				status int
				server string
				err    error
			}
			done := make(chan result, 1)
			go func() {
				resp, err := http.Get(ps.URL + "/v1/objects/cat.jpg")
				if err != nil {
					done <- result{err: err}
					return
				}
				resp.Body.Close()
				done <- result{status: resp.StatusCode, server: resp.Header.Get("X-Cdn-Server")}
			}()
			waitFor(t, "the request to reach a", func() bool { return fs[0].started.Load() == 1 })
			rt.ProbeAll(context.Background())
			if !a.st.ejected() {
				t.Fatal("a not ejected after a probe past its timeout")
			}
			r := <-done
			if r.err != nil || r.status != 200 || r.server != "a" {
				t.Fatalf("got %d from %q (err %v), want a's 200", r.status, r.server, r.err)
			}
		})
	}
}

// TestWaits_GiveUpBeforeAdd: an attempt that chose the server before a
// giveUp and registers after it (while it dialed) is given up too.
func TestWaits_GiveUpBeforeAdd(t *testing.T) {
	var ws waits
	var early, late wait
	gen := ws.since()
	if !ws.add(&early, gen) {
		t.Fatal("add refused with no giveUp")
	}
	ws.giveUp()
	if !ws.done(&early) {
		t.Fatal("a registered attempt was not given up")
	}
	if ws.add(&late, gen) {
		t.Fatal("an attempt that chose the server before the giveUp registered after it")
	}
	if !ws.add(&late, ws.since()) || ws.done(&late) {
		t.Fatal("an attempt that chose the server after the giveUp was refused or given up")
	}
}
