package scenario_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"metacdn/fixtures"
	"metacdn/router/scenario"
)

const adminToken = "scenario-admin-token"

// TestScenarios plays fixtures/scenarios against three real server
// processes, each behind a toxiproxy link that adds its latency and
// bandwidth, and a real priceinfo process. One proxy runs throughout, so
// each new scenario also checks that its decisions follow latencies and
// prices that change while it runs.
func TestScenarios(t *testing.T) {
	scs, err := scenario.Load("../../fixtures/scenarios")
	if err != nil {
		t.Fatal(err)
	}
	lab := scenario.NewLab()
	t.Cleanup(lab.Close)
	var servers []string
	var providers []string
	for _, s := range scs[0].Servers {
		servers, providers = append(servers, s.ID), append(providers, s.Provider)
	}
	cl := fixtures.StartCluster(t, len(servers), fixtures.ClusterOptions{
		Providers:  providers,
		AdminToken: adminToken,
		Heartbeat:  200 * time.Millisecond,
		// Servers advertise their link, so the proxy only ever reaches
		// them through it.
		Advertise: func(id, listen string) string {
			u, err := lab.Link(id, listen)
			if err != nil {
				t.Fatal(err)
			}
			return u
		},
	})
	c := scenario.Cluster{PriceInfo: startPriceinfo(t, scs[0]), AdminToken: adminToken, Lab: lab}
	for _, s := range cl.Servers {
		c.Nodes = append(c.Nodes, scenario.Node{ID: s.ID, Provider: s.Provider, URL: s.URL, Direct: s.Direct()})
	}

	results, err := scenario.Run(t.Context(), c, scs, scenario.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var table bytes.Buffer
	scenario.WriteTable(&table, results)
	t.Logf("\n%s", table.String())

	picks := map[string]map[string]bool{} // object/policy -> servers picked across scenarios
	for _, sc := range scs {
		t.Run(sc.Name, func(t *testing.T) {
			n := 0
			for _, r := range results {
				if r.Scenario != sc.Name {
					continue
				}
				for _, pk := range r.Picks {
					n++
					if !pk.OK {
						t.Errorf("%s under %s: picked %s, want %s\n%s", r.Object, pk.Policy, pk.Got, pk.Want, pk.Detail)
					}
					k := r.Object + "/" + string(pk.Policy)
					if picks[k] == nil {
						picks[k] = map[string]bool{}
					}
					picks[k][pk.Got] = true
				}
			}
			want := 0
			for _, ck := range sc.Checks {
				want += len(ck.Expect)
			}
			if n != want {
				t.Errorf("%d picks played, want %d", n, want)
			}
		})
	}
	if len(scs) > 1 && len(picks["small/network"]) < 2 {
		t.Errorf("the same request went to %v in every scenario, want different servers", picks["small/network"])
	}
}

func TestLoad(t *testing.T) {
	t.Run("Fixtures", func(t *testing.T) {
		scs, err := scenario.Load("../../fixtures/scenarios")
		if err != nil {
			t.Fatal(err)
		}
		if got := len(scs); got < 4 {
			t.Fatalf("%d scenarios, want at least 4", got)
		}
	})
	for _, tc := range []struct {
		name, file string
		want       error
	}{
		{"UnknownField", `{"name":"x","servers":[{"id":"s1"}],"latency":3}`, nil},
		{"UnknownObject", `{"name":"x","servers":[{"id":"s1"}],"checks":[{"object":"huge"}]}`, scenario.ErrInvalid},
		{"NoServers", `{"name":"x"}`, scenario.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "a.json"), []byte(tc.file), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := scenario.Load(dir)
			if err == nil {
				t.Fatal("Load: no error")
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("Load: %v, want %v", err, tc.want)
			}
		})
	}
	t.Run("Empty", func(t *testing.T) {
		if _, err := scenario.Load(t.TempDir()); !errors.Is(err, scenario.ErrNoScenarios) {
			t.Fatalf("Load: %v, want ErrNoScenarios", err)
		}
	})
}

func TestWriteTable(t *testing.T) {
	var b bytes.Buffer
	rs := []scenario.Result{{
		Scenario: "thin", Object: "big",
		Servers: []scenario.Server{{ID: "s1", Provider: "aws", LatencyMs: 10, BandwidthKBps: 200}, {ID: "s2", Provider: "azure", LatencyMs: 60}},
		Prices:  map[string]scenario.Price{"aws": {Egress: 0.05, Hour: 0.03}, "azure": {Egress: 0.05, Hour: 0.02}},
		Picks: []scenario.Pick{
			{Policy: "network", Want: "s2", Got: "s2", OK: true},
			{Policy: "combined", Want: "s2", Got: "s1"},
		},
	}}
	if err := scenario.WriteTable(&b, rs); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"s1 (aws)", "10ms 200KB/s $0.05/GB $0.03/h", "60ms $0.05/GB $0.02/h", "big 256KiB", "s2/-/s2", "s2/-/s1", "FAIL"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

// startPriceinfo runs the real priceinfo program seeded with sc's prices.
func startPriceinfo(t *testing.T, sc scenario.Scenario) string {
	t.Helper()
	dir := t.TempDir()
	seedPath := filepath.Join(dir, "seed.json")
	if err := os.WriteFile(seedPath, scenario.SeedJSON(sc), 0o644); err != nil {
		t.Fatal(err)
	}
	return fixtures.StartProgram(t, "priceinfo", "/healthz", "--data", filepath.Join(dir, "data"),
		"--admin-token", adminToken, "--seed", seedPath)
}
