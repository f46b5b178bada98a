package router

import (
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"testing"

	"metacdn/fixtures"
)

// TestRouter_TLS routes to real servers that run --tls: the proxy trusts
// the cluster CA and presents a certificate it signed (the servers ask for
// one, and check it if given).
func TestRouter_TLS(t *testing.T) {
	dir := t.TempDir()
	out, err := exec.Command(fixtures.Binary(t, "certs"), "--out", dir, "s1", "s2", "proxy").CombinedOutput()
	if err != nil {
		t.Fatalf("certs: %v\n%s", err, out)
	}
	cl := fixtures.StartCluster(t, 2, fixtures.ClusterOptions{TLSDir: dir})

	cfg := testConfig(cl.Servers[0].URL)
	cfg.TLSCA = filepath.Join(dir, "ca.pem")
	cfg.TLSCert = filepath.Join(dir, "proxy.pem")
	cfg.TLSKey = filepath.Join(dir, "proxy-key.pem")
	rt, ps := mustRouter(t, cfg)
	if got := len(rt.Servers()); got != 2 {
		t.Fatalf("servers=%d over TLS, want 2", got)
	}
	for _, s := range rt.Servers() {
		if s.st.rttSamples.Load() == 0 || s.st.ejected() {
			t.Fatalf("server %s: %d RTT samples, ejected %v", s.ID, s.st.rttSamples.Load(), s.st.ejected())
		}
	}
	resp, _ := get(t, nil, ps.URL+"/v1/objects/none")
	if resp.StatusCode != http.StatusNotFound || resp.Header.Get("X-Cdn-Server") == "" {
		t.Fatalf("GET through TLS: status %d, server %q", resp.StatusCode, resp.Header.Get("X-Cdn-Server"))
	}

	t.Run("UntrustedCA", func(t *testing.T) {
		// A proxy that does not trust the cluster CA learns nothing.
		rt, err := New(testConfig(cl.Servers[0].URL), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer rt.Close()
		if err := rt.Discover(t.Context()); err == nil {
			t.Fatal("discovery without the cluster CA succeeded")
		}
		rec := httptest.NewRecorder()
		rt.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v1/objects/x", nil))
		if rec.Code != http.StatusServiceUnavailable {
			t.Fatalf("status %d, want 503", rec.Code)
		}
	})
}
