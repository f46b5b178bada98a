package router

import (
	"encoding/json"
	"testing"
)

// FuzzParsePrices feeds arbitrary bodies to the price decoder: it must
// not panic, and every row it keeps names its provider.
func FuzzParsePrices(f *testing.F) {
	f.Add([]byte(`{"providers":[{"provider":"aws","egress_usd_per_gb":0.09,"server_usd_per_hour":0.02,"tiers":[{"usd_per_gb":0.05}]}],"version":3}`))
	f.Add([]byte(`{"providers":[{"provider":""},{"egress_usd_per_gb":"x"}],"version":"7"}`))
	f.Add([]byte(`{"providers":null}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		pt, err := parsePrices(body)
		if err != nil {
			return
		}
		for name, p := range pt.rows {
			if name == "" || p.Provider != name {
				t.Fatalf("row %q holds provider %q", name, p.Provider)
			}
			if len(p.Raw) > 0 && !json.Valid(p.Raw) {
				t.Fatalf("row %q keeps invalid JSON %q", name, p.Raw)
			}
		}
	})
}

// FuzzApplyPeers feeds arbitrary peer lists to discovery: no panic, and
// every server in the table has an id, a usable URL and a unique id.
func FuzzApplyPeers(f *testing.F) {
	f.Add([]byte(`{"self":{"id":"s1","url":"http://127.0.0.1:1","provider":"aws"},"peers":[{"id":"s2","url":"http://127.0.0.1:2","state":"dead"},{"id":"s3","url":"http://127.0.0.1:3","removed":true}]}`))
	f.Add([]byte(`{"self":{"id":"s1","url":"ftp://x"},"peers":[{"id":"","url":"http://127.0.0.1:2"},{"id":"s1","url":"http://127.0.0.1:9"}]}`))
	f.Add([]byte(`{"peers":[{"id":"a","url":"http://[::1]:80/base/"}]}`))
	cfg := DefaultConfig()
	cfg.Seeds = []string{"http://127.0.0.1:1"}
	rt, err := New(cfg, nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var pl peerListJSON
		if json.Unmarshal(body, &pl) != nil {
			return
		}
		rt.mu.Lock()
		rt.applyPeers(&pl)
		rt.mu.Unlock()
		seen := map[string]bool{}
		for _, s := range rt.table.Load().servers {
			if s.ID == "" || checkURL(s.URL) != nil || seen[s.ID] {
				t.Fatalf("bad server in table: %+v", s)
			}
			seen[s.ID] = true
		}
		if rt.Decide(0) == nil && len(rt.table.Load().servers) > 0 {
			t.Fatal("servers known but none picked")
		}
	})
}
