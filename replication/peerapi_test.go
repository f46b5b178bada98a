package replication

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func doJSON(t *testing.T, method, url, body string) (int, PeerList) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var pl PeerList
	if res.StatusCode < 300 {
		if err := json.Unmarshal(b, &pl); err != nil {
			t.Fatalf("%s %s: %v: %s", method, url, err, b)
		}
	} else if !strings.Contains(string(b), `"error"`) {
		t.Fatalf("%s %s: %d without a JSON error: %s", method, url, res.StatusCode, b)
	}
	return res.StatusCode, pl
}

func hasPeer(pl PeerList, id string) bool {
	for _, p := range pl.Peers {
		if p.ID == id {
			return true
		}
	}
	return false
}

func TestPeerAPI_RemoveAndReadd(t *testing.T) {
	nodes := cluster(t, 3)
	a, b, c := nodes[0], nodes[1], nodes[2]
	waitFor(t, "s1 to know every peer by id", 10*time.Second, func() bool {
		pl := a.rep.Peers()
		return hasPeer(pl, "s2") && hasPeer(pl, "s3")
	})

	if st, _ := doJSON(t, http.MethodDelete, a.url+"/v1/peers/s1", ""); st != http.StatusBadRequest {
		t.Fatalf("DELETE self: %d, want 400", st)
	}
	if st, _ := doJSON(t, http.MethodDelete, a.url+"/v1/peers/nope", ""); st != http.StatusNotFound {
		t.Fatalf("DELETE unknown: %d, want 404", st)
	}
	st, pl := doJSON(t, http.MethodDelete, a.url+"/v1/peers/s3", "")
	if st != http.StatusOK || hasPeer(pl, "s3") {
		t.Fatalf("DELETE s3: %d %+v", st, pl)
	}
	waitFor(t, "s2 to learn the removal", 10*time.Second, func() bool { return !hasPeer(b.rep.Peers(), "s3") })
	waitFor(t, "s3 to learn it was removed", 10*time.Second, func() bool { return c.rep.Peers().Self.Removed })
	// s3 keeps sending heartbeats; it must not come back through them.
	hbs := func() float64 { return counterSum(t, c.reg, "metacdn_replication_bytes_shipped_total") }
	before := hbs()
	waitFor(t, "s3 to keep talking", 10*time.Second, func() bool { return hbs() > before+1000 })
	if hasPeer(a.rep.Peers(), "s3") || hasPeer(b.rep.Peers(), "s3") {
		t.Fatalf("removed s3 came back by gossip")
	}
	// The tombstone survives a restart of s2.
	b.stop()
	b.start()
	if hasPeer(b.rep.Peers(), "s3") {
		t.Fatalf("removed s3 came back after restart")
	}

	// An admin adds it again by URL: a newer version beats the tombstone.
	st, _ = doJSON(t, http.MethodPost, b.url+"/v1/peers", `{"url":"`+c.url+`"}`)
	if st != http.StatusCreated {
		t.Fatalf("POST: %d", st)
	}
	for _, n := range []*testNode{a, b} {
		waitFor(t, n.id+" to know s3 again", 10*time.Second, func() bool {
			for _, p := range n.rep.Peers().Peers {
				if p.ID == "s3" && p.State == StateAlive {
					return true
				}
			}
			return false
		})
	}
	waitFor(t, "s3 to learn it is back", 10*time.Second, func() bool { return !c.rep.Peers().Self.Removed })
	c.put("back", []byte("s3 writes again"))
	waitConverged(t, 10*time.Second, a, b, c)
}

func TestPeerAPI_Replace(t *testing.T) {
	nodes := cluster(t, 3)
	a, b := nodes[0], nodes[1]
	waitFor(t, "s1 to know s2 and s3", 10*time.Second, func() bool {
		pl := a.rep.Peers()
		return hasPeer(pl, "s2") && hasPeer(pl, "s3")
	})
	// The same list goes to every server: each skips itself.
	body := `{"peers":[{"url":"` + a.url + `"},{"id":"s2","url":"` + b.url + `","provider":"gcp"}]}`
	st, pl := doJSON(t, http.MethodPut, a.url+"/v1/peers", body)
	if st != http.StatusOK || hasPeer(pl, "s3") || !hasPeer(pl, "s2") {
		t.Fatalf("PUT: %d %+v", st, pl)
	}
	if got := pl.Peers[0].Provider; got != "gcp" {
		t.Fatalf("provider = %q, want gcp", got)
	}
	waitFor(t, "s2 to learn the new list", 10*time.Second, func() bool { return !hasPeer(b.rep.Peers(), "s3") })

	for _, tc := range []struct{ name, method, body string }{
		{"BadURL", http.MethodPost, `{"url":"ftp://x"}`},
		{"PortOutOfRange", http.MethodPost, `{"url":"http://127.0.0.1:99999"}`},
		{"Credentials", http.MethodPost, `{"url":"http://u:p@127.0.0.1:28098"}`},
		{"Query", http.MethodPost, `{"url":"http://127.0.0.1:28099/x?q=1"}`},
		{"Fragment", http.MethodPost, `{"url":"http://127.0.0.1:28099#f"}`},
		{"NoHost", http.MethodPost, `{"url":"http://:8080"}`},
		{"NoURL", http.MethodPost, `{"id":"x"}`},
		{"Self", http.MethodPost, `{"url":"` + a.url + `"}`},
		{"NotJSON", http.MethodPost, `url=x`},
		{"UnknownField", http.MethodPut, `{"peerz":[]}`},
		{"NoList", http.MethodPut, `{}`},
		{"NullList", http.MethodPut, `{"peers":null}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if st, _ := doJSON(t, tc.method, a.url+"/v1/peers", tc.body); st != http.StatusBadRequest {
				t.Fatalf("%s %s: %d, want 400", tc.method, tc.body, st)
			}
		})
	}
	// Refused bodies changed nothing.
	if !hasPeer(a.rep.Peers(), "s2") {
		t.Fatalf("s2 gone after refused requests: %+v", a.rep.Peers())
	}
	// An explicit [] empties the list.
	if st, pl := doJSON(t, http.MethodPut, a.url+"/v1/peers", `{"peers":[]}`); st != http.StatusOK || len(pl.Peers) != 0 {
		t.Fatalf("PUT []: %d %+v", st, pl)
	}
}

func TestPeerAPI_AdminWrapper(t *testing.T) {
	n := newTestNode(t, "s1")
	n.start()
	deny := func(http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, `{"error":"admin token required"}`, http.StatusUnauthorized)
		})
	}
	srv := httptest.NewServer(n.rep.PeerRoutes(deny))
	defer srv.Close()
	if st, _ := doJSON(t, http.MethodGet, srv.URL+"/", ""); st != http.StatusOK {
		t.Fatalf("GET: %d", st)
	}
	for _, m := range []string{http.MethodPost, http.MethodPut} {
		if st, _ := doJSON(t, m, srv.URL+"/", `{"url":"http://127.0.0.1:1"}`); st != http.StatusUnauthorized {
			t.Fatalf("%s without admin: %d", m, st)
		}
	}
	if st, _ := doJSON(t, http.MethodDelete, srv.URL+"/s2", ""); st != http.StatusUnauthorized {
		t.Fatalf("DELETE without admin: %d", st)
	}
}
