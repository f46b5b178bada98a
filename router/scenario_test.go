package router

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/Shopify/toxiproxy/v2"
	"github.com/rs/zerolog"

	"metacdn/fixtures"
)

// scenario is one fixtures/scenarios/*.json file.
type scenario struct {
	Name        string  `json:"name"`
	Description string  `json:"description"`
	Weight      float64 `json:"weight"`
	Servers     []struct {
		ID            string `json:"id"`
		Provider      string `json:"provider"`
		LatencyMs     int64  `json:"latency_ms"`
		BandwidthKBps int64  `json:"bandwidth_kbps"`
	} `json:"servers"`
	Prices map[string]struct {
		Egress float64 `json:"egress_usd_per_gb"`
		Hour   float64 `json:"server_usd_per_hour"`
	} `json:"prices"`
	Checks []struct {
		Object string            `json:"object"`
		Expect map[string]string `json:"expect"`
	} `json:"checks"`
}

func loadScenarios(t *testing.T) []scenario {
	t.Helper()
	paths, err := filepath.Glob("../fixtures/scenarios/*.json")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no scenario files: %v", err)
	}
	sort.Strings(paths)
	var out []scenario
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var sc scenario
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&sc); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		out = append(out, sc)
	}
	return out
}

// scenarioObjects are uploaded once; checks name them.
var scenarioObjects = map[string]int{"small": 1 << 10, "big": 256 << 10}

const scenarioToken = "scenario-admin-token"

// TestScenarios plays fixtures/scenarios against three real server
// processes, each behind a toxiproxy proxy that adds its latency and
// bandwidth, and a real priceinfo. One proxy runs throughout, so each new
// scenario also checks that its decisions follow latencies and prices
// that change while it runs.
func TestScenarios(t *testing.T) {
	scs := loadScenarios(t)

	// toxiproxy in process, one proxy per server; servers advertise the
	// toxiproxy address, so the router only ever reaches them through it.
	tox := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(nil), zerolog.Nop())
	toxics := map[string]*toxiproxy.Proxy{}
	cl := fixtures.StartCluster(t, 3, fixtures.ClusterOptions{
		Providers:  []string{"aws", "azure", "gcp"},
		AdminToken: scenarioToken,
		Heartbeat:  200 * time.Millisecond,
		Advertise: func(id, listen string) string {
			p := toxiproxy.NewProxy(tox, id, "127.0.0.1:0", listen)
			if err := p.Start(); err != nil {
				t.Fatalf("toxiproxy for %s: %v", id, err)
			}
			t.Cleanup(p.Stop)
			toxics[id] = p
			return "http://" + p.Listen
		},
	})
	for _, sc := range scs {
		for i, s := range sc.Servers {
			if cs := cl.Servers[i]; s.ID != cs.ID || s.Provider != cs.Provider {
				t.Fatalf("scenario %s: server %d is %s/%s, the cluster has %s/%s", sc.Name, i, s.ID, s.Provider, cs.ID, cs.Provider)
			}
		}
	}
	prices := startPriceinfo(t, scs[0])

	// Content on every server before any toxic slows things down.
	for name, size := range scenarioObjects {
		body := bytes.Repeat([]byte{byte(name[0])}, size)
		req, _ := http.NewRequest(http.MethodPut, cl.Servers[0].Direct()+"/v1/objects/"+name, bytes.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("upload %s: %v", name, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
			t.Fatalf("upload %s: status %d", name, resp.StatusCode)
		}
		for _, s := range cl.Servers {
			waitFor(t, name+" on "+s.ID, func() bool {
				resp, err := http.Get(s.Direct() + "/v1/objects/" + name)
				if err != nil {
					return false
				}
				n, _ := io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				return resp.StatusCode == 200 && int(n) == size
			})
		}
	}

	cfg := DefaultConfig()
	cfg.Seeds = []string{cl.Servers[0].URL}
	cfg.PriceInfo = prices
	cfg.ProbeInterval = 50 * time.Millisecond
	cfg.PriceInterval = 100 * time.Millisecond
	cfg.DiscoveryInterval = time.Second
	cfg.ThroughputTTL = 2 * time.Second // pipe-restored waits for it
	rt, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := rt.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	ps := httptest.NewServer(rt.Handler())
	t.Cleanup(func() {
		ps.Close()
		rt.Close()
	})
	for _, s := range cl.Servers {
		if got := rt.table.Load().byID[s.ID]; got == nil || got.URL != s.URL {
			t.Fatalf("router knows %s as %+v, want its toxiproxy URL %s", s.ID, got, s.URL)
		}
	}

	picks := map[string]map[string]bool{} // object/policy -> servers picked across scenarios
	for _, sc := range scs {
		t.Run(sc.Name, func(t *testing.T) {
			for _, s := range sc.Servers {
				setToxics(t, toxics[s.ID], s.LatencyMs, s.BandwidthKBps)
			}
			for provider, p := range sc.Prices {
				putPrice(t, prices, provider, p.Egress, p.Hour)
			}
			for _, ck := range sc.Checks {
				for _, policy := range []Policy{PolicyNetwork, PolicyPrice, PolicyCombined} {
					want, ok := ck.Expect[string(policy)]
					if !ok {
						continue
					}
					setPolicy(t, ps.URL, policy, sc.Weight)
					got := settle(t, rt, ps.URL+"/v1/objects/"+ck.Object, want)
					k := ck.Object + "/" + string(policy)
					if picks[k] == nil {
						picks[k] = map[string]bool{}
					}
					picks[k][got] = true
				}
			}
		})
	}
	if len(scs) > 1 && len(picks["small/network"]) < 2 {
		t.Errorf("the same request went to %v in every scenario, want different servers", picks["small/network"])
	}
}

// settle sends GETs until the proxy answers from want (its measurements
// need a few probes, a large object one transfer, to see a change), then
// checks that it stays there: four of the next five (one may go astray
// when a loaded machine delays a probe by tens of milliseconds).
func settle(t *testing.T, rt *Router, url, want string) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if got := fetchServer(t, url); got == want {
			break
		}
		if time.Now().After(deadline) {
			st, _ := json.MarshalIndent(statusOf(t, rt), "", "  ")
			t.Fatalf("GET %s: not from %s after 20 s\n%s", url, want, st)
		}
		time.Sleep(50 * time.Millisecond)
	}
	var got []string
	astray := 0
	for i := 0; i < 5; i++ {
		g := fetchServer(t, url)
		got = append(got, g)
		if g != want {
			astray++
		}
	}
	if astray > 1 {
		st, _ := json.MarshalIndent(statusOf(t, rt), "", "  ")
		t.Fatalf("GET %s: %v after settling on %s\n%s", url, got, want, st)
	}
	return want
}

func fetchServer(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET %s: status %d, %v", url, resp.StatusCode, err)
	}
	return resp.Header.Get("X-Cdn-Server")
}

func statusOf(t *testing.T, rt *Router) StatusResponse {
	rec := httptest.NewRecorder()
	rt.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/_proxy/status", nil))
	var st StatusResponse
	json.Unmarshal(rec.Body.Bytes(), &st)
	if len(st.Decisions) > 5 {
		st.Decisions = st.Decisions[:5]
	}
	return st
}

func setPolicy(t *testing.T, proxy string, p Policy, w float64) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPut, fmt.Sprintf("%s/_proxy/policy?policy=%s&weight=%g", proxy, p, w), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("set policy %s: status %d", p, resp.StatusCode)
	}
}

// setToxics replaces the proxy's toxics: latency and bandwidth on what
// the server sends.
func setToxics(t *testing.T, p *toxiproxy.Proxy, latencyMs, kbps int64) {
	t.Helper()
	for _, name := range []string{"latency", "bandwidth"} {
		if p.Toxics.GetToxic(name) != nil {
			if err := p.Toxics.RemoveToxic(t.Context(), name); err != nil {
				t.Fatalf("remove toxic %s: %v", name, err)
			}
		}
	}
	add := func(js string) {
		if _, err := p.Toxics.AddToxicJson(strings.NewReader(js)); err != nil {
			t.Fatalf("add toxic %s: %v", js, err)
		}
	}
	if latencyMs > 0 {
		add(fmt.Sprintf(`{"name":"latency","type":"latency","stream":"downstream","attributes":{"latency":%d}}`, latencyMs))
	}
	if kbps > 0 {
		add(fmt.Sprintf(`{"name":"bandwidth","type":"bandwidth","stream":"downstream","attributes":{"rate":%d}}`, kbps))
	}
}

// startPriceinfo runs the real priceinfo program seeded with sc's prices.
func startPriceinfo(t *testing.T, sc scenario) string {
	t.Helper()
	dir := t.TempDir()
	var rows []map[string]any
	for provider, p := range sc.Prices {
		rows = append(rows, map[string]any{"provider": provider, "egress_usd_per_gb": p.Egress, "server_usd_per_hour": p.Hour})
	}
	seed, _ := json.Marshal(map[string]any{"providers": rows})
	seedPath := filepath.Join(dir, "seed.json")
	if err := os.WriteFile(seedPath, seed, 0o644); err != nil {
		t.Fatal(err)
	}
	addr := fixtures.FreeAddr(t)
	logPath := filepath.Join(dir, "priceinfo.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(fixtures.Binary(t, "priceinfo"), "--listen", addr, "--data", filepath.Join(dir, "data"),
		"--admin-token", scenarioToken, "--seed", seedPath)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("--- priceinfo log:\n%s", b)
		}
	})
	url := "http://" + addr
	if err := fixtures.WaitHealthy(http.DefaultClient, url+"/healthz", 30*time.Second); err != nil {
		t.Fatalf("priceinfo: %v", err)
	}
	return url
}

func putPrice(t *testing.T, base, provider string, egress, hour float64) {
	t.Helper()
	body := fmt.Sprintf(`{"egress_usd_per_gb":%g,"server_usd_per_hour":%g}`, egress, hour)
	req, _ := http.NewRequest(http.MethodPut, base+"/v1/prices/"+provider, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+scenarioToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 && resp.StatusCode != 201 {
		t.Fatalf("PUT price %s: %d %s", provider, resp.StatusCode, b)
	}
}
