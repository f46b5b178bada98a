package pricedb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

const testToken = "test-admin-token"

// startService runs a Service on 127.0.0.1:0 with a fresh data directory
// (or the one set by mod) and closes it when the test ends.
func startService(t *testing.T, mod func(*Config)) *Service {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.DataDir = t.TempDir()
	cfg.AdminToken = testToken
	cfg.Logger = testLogger(t)
	if mod != nil {
		mod(&cfg)
	}
	svc, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := svc.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return svc
}

// testLogger logs through t only with -v, so failures keep their context
// without flooding normal runs.
func testLogger(t *testing.T) *slog.Logger {
	if !testing.Verbose() {
		return nil
	}
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) errMsg(t *testing.T) string {
	t.Helper()
	var e ErrorResponse
	if err := json.Unmarshal(r.body, &e); err != nil || e.Error == "" {
		t.Fatalf("status %d body %q is not {\"error\": ...}", r.status, r.body)
	}
	if got := r.header.Get("Content-Type"); got != "application/json" {
		t.Fatalf("error Content-Type=%q, want application/json", got)
	}
	return e.Error
}

var httpClient = &http.Client{Timeout: 10 * time.Second}

// do sends one request; hdr is alternating names and values.
func do(t *testing.T, method, url, body string, hdr ...string) response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, url, err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

var authHdr = []string{"Authorization", "Bearer " + testToken}

func put(t *testing.T, svc *Service, provider, body string) response {
	t.Helper()
	return do(t, http.MethodPut, svc.URL()+"/v1/prices/"+provider, body, "Authorization", "Bearer "+testToken)
}

func list(t *testing.T, svc *Service) ListResponse {
	t.Helper()
	r := do(t, http.MethodGet, svc.URL()+"/v1/prices", "")
	if r.status != http.StatusOK {
		t.Fatalf("GET /v1/prices: %d %s", r.status, r.body)
	}
	var lr ListResponse
	if err := json.Unmarshal(r.body, &lr); err != nil {
		t.Fatalf("GET /v1/prices body: %v", err)
	}
	return lr
}

func TestServer_PutGet(t *testing.T) {
	svc := startService(t, nil)
	r := put(t, svc, "aws", `{"egress_usd_per_gb":0.09,"server_usd_per_hour":0.0208,"region":"us-east-1"}`)
	if got, want := r.status, http.StatusCreated; got != want {
		t.Fatalf("PUT new status=%d, want %d (%s)", got, want, r.body)
	}
	if got, want := r.header.Get("Location"), "/v1/prices/aws"; got != want {
		t.Fatalf("Location=%q, want %q", got, want)
	}
	var p Price
	if err := json.Unmarshal(r.body, &p); err != nil || p.Provider != "aws" || p.EgressUSDPerGB != 0.09 || p.Version != 1 {
		t.Fatalf("PUT body %s (%v)", r.body, err)
	}

	r = put(t, svc, "aws", `{"provider":"aws","egress_usd_per_gb":0.085,"server_usd_per_hour":0.0208}`)
	if got, want := r.status, http.StatusOK; got != want {
		t.Fatalf("PUT replace status=%d, want %d (%s)", got, want, r.body)
	}

	r = do(t, http.MethodGet, svc.URL()+"/v1/prices/aws", "")
	if r.status != http.StatusOK {
		t.Fatalf("GET row: %d %s", r.status, r.body)
	}
	p = Price{}
	if err := json.Unmarshal(r.body, &p); err != nil {
		t.Fatal(err)
	}
	// A replace drops the fields it does not send.
	if p.EgressUSDPerGB != 0.085 || p.Region != "" || p.Version != 2 {
		t.Fatalf("GET row after replace: %+v", p)
	}
	tag := r.header.Get("ETag")
	if r := do(t, http.MethodGet, svc.URL()+"/v1/prices/aws", "", "If-None-Match", tag); r.status != http.StatusNotModified {
		t.Fatalf("GET row If-None-Match status=%d, want 304", r.status)
	}

	// What GET returns can be PUT back as is; nothing changes.
	r2 := put(t, svc, "aws", string(r.body))
	if r2.status != http.StatusOK || list(t, svc).Version != 2 {
		t.Fatalf("PUT of a GET body: status %d (%s), version %d; want 200 and no bump", r2.status, r2.body, list(t, svc).Version)
	}
}

// TestServer_PutOtherCosts: a PUT may carry any other cost field; the
// row keeps it with its named costs (extra), and GET shows it there.
func TestServer_PutOtherCosts(t *testing.T) {
	svc := startService(t, nil)
	r := put(t, svc, "oracle", `{"egress_usd_per_gb":0.0085,"server_usd_per_hour":0.02,"storage_usd_per_gb_month":0.0255}`)
	if r.status != http.StatusCreated {
		t.Fatalf("PUT with another cost field: %d %s", r.status, r.body)
	}
	r = do(t, http.MethodGet, svc.URL()+"/v1/prices/oracle", "")
	var p Price
	if err := json.Unmarshal(r.body, &p); err != nil || p.Extra["storage_usd_per_gb_month"] != 0.0255 {
		t.Fatalf("GET row: %s (%v), want storage_usd_per_gb_month in extra", r.body, err)
	}
}

func TestServer_GetNotFound(t *testing.T) {
	svc := startService(t, nil)
	for _, path := range []string{"/v1/prices/nope", "/v1/prices/UPPER", "/v1/nothing", "/"} {
		r := do(t, http.MethodGet, svc.URL()+path, "")
		if r.status != http.StatusNotFound {
			t.Fatalf("GET %s status=%d, want 404", path, r.status)
		}
		r.errMsg(t)
	}
}

func TestServer_PutInvalid(t *testing.T) {
	svc := startService(t, func(c *Config) { c.MaxBodyBytes = 4096 })
	cases := append([]struct{ name, body, field string }{}, decodeCases...)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := put(t, svc, "aws", tc.body)
			if got, want := r.status, http.StatusBadRequest; got != want {
				t.Fatalf("status=%d, want %d (%s)", got, want, r.body)
			}
			msg := r.errMsg(t)
			if !strings.Contains(msg, tc.field) {
				t.Fatalf("error %q does not name %q", msg, tc.field)
			}
		})
	}
	t.Run("BadProviderInPath", func(t *testing.T) {
		r := put(t, svc, "Not_Valid", `{"egress_usd_per_gb":1,"server_usd_per_hour":1}`)
		if r.status != http.StatusBadRequest || !strings.Contains(r.errMsg(t), "provider") {
			t.Fatalf("status=%d body=%s, want 400 naming provider", r.status, r.body)
		}
	})
	t.Run("TooLarge", func(t *testing.T) {
		body := `{"egress_usd_per_gb":1,"server_usd_per_hour":1,"notes":"` + strings.Repeat("x", 5000) + `"}`
		r := put(t, svc, "aws", body)
		if r.status != http.StatusRequestEntityTooLarge || !strings.Contains(r.errMsg(t), "4096") {
			t.Fatalf("status=%d body=%s, want 413 naming the limit", r.status, r.body)
		}
	})
	if got := list(t, svc); got.Version != 0 || len(got.Providers) != 0 {
		t.Fatalf("after rejected puts: %+v, want nothing stored", got)
	}
}

func TestServer_ETag(t *testing.T) {
	svc := startService(t, nil)
	url := svc.URL() + "/v1/prices"
	r := do(t, http.MethodGet, url, "")
	tag0 := r.header.Get("ETag")
	if r.status != http.StatusOK || tag0 == "" {
		t.Fatalf("GET: %d ETag=%q", r.status, tag0)
	}
	if got, want := strings.TrimSpace(string(r.body)), "{\n  \"providers\": [],\n  \"version\": 0\n}"; got != want {
		t.Fatalf("empty list body %q, want %q", got, want)
	}
	for _, inm := range []string{tag0, "W/" + tag0, `"other", ` + tag0, "*"} {
		r = do(t, http.MethodGet, url, "", "If-None-Match", inm)
		if r.status != http.StatusNotModified || len(r.body) != 0 || r.header.Get("ETag") != tag0 {
			t.Fatalf("If-None-Match %s: status %d, body %q, ETag %q; want 304, empty, %s", inm, r.status, r.body, r.header.Get("ETag"), tag0)
		}
	}

	if r := put(t, svc, "gcp", `{"egress_usd_per_gb":0.12,"server_usd_per_hour":0.016751}`); r.status != http.StatusCreated {
		t.Fatalf("PUT: %d %s", r.status, r.body)
	}
	r = do(t, http.MethodGet, url, "", "If-None-Match", tag0)
	tag1 := r.header.Get("ETag")
	if r.status != http.StatusOK || tag1 == tag0 {
		t.Fatalf("after a change: status %d ETag %q (old %q), want 200 and a new ETag", r.status, tag1, tag0)
	}
	var lr ListResponse
	if err := json.Unmarshal(r.body, &lr); err != nil || lr.Version != 1 || len(lr.Providers) != 1 {
		t.Fatalf("list after put: %s (%v)", r.body, err)
	}

	// HEAD carries the same ETag and no body.
	r = do(t, http.MethodHead, url, "")
	if r.status != http.StatusOK || r.header.Get("ETag") != tag1 || len(r.body) != 0 {
		t.Fatalf("HEAD: %d ETag %q body %q", r.status, r.header.Get("ETag"), r.body)
	}

	if r := do(t, http.MethodDelete, svc.URL()+"/v1/prices/gcp", "", "Authorization", "Bearer "+testToken); r.status != http.StatusOK {
		t.Fatalf("DELETE: %d %s", r.status, r.body)
	}
	r = do(t, http.MethodGet, url, "", "If-None-Match", tag1)
	if r.status != http.StatusOK || r.header.Get("ETag") == tag1 {
		t.Fatalf("after delete: status %d ETag %q, want 200 and a new ETag", r.status, r.header.Get("ETag"))
	}
}

func TestServer_Auth(t *testing.T) {
	body := `{"egress_usd_per_gb":1,"server_usd_per_hour":1}`
	t.Run("NoTokenConfigured", func(t *testing.T) {
		svc := startService(t, func(c *Config) { c.AdminToken = "" })
		for _, method := range []string{http.MethodPut, http.MethodDelete} {
			r := do(t, method, svc.URL()+"/v1/prices/aws", body, "Authorization", "Bearer anything")
			msg := r.errMsg(t)
			if r.status != http.StatusForbidden || !strings.Contains(msg, "--admin-token") || !strings.Contains(msg, "CDN_ADMIN_TOKEN") {
				t.Fatalf("%s: %d %q, want 403 saying how to set a token", method, r.status, msg)
			}
		}
	})
	svc := startService(t, nil)
	url := svc.URL() + "/v1/prices/aws"
	for _, tc := range []struct {
		name, method, auth string
		status             int
	}{
		{"PutMissing", http.MethodPut, "", http.StatusUnauthorized},
		{"PutBasic", http.MethodPut, "Basic dXNlcjpwYXNz", http.StatusUnauthorized},
		{"PutWrong", http.MethodPut, "Bearer wrong", http.StatusForbidden},
		{"PutPrefix", http.MethodPut, "Bearer " + testToken[:4], http.StatusForbidden},
		{"PutLonger", http.MethodPut, "Bearer " + testToken + "x", http.StatusForbidden},
		{"DeleteMissing", http.MethodDelete, "", http.StatusUnauthorized},
		{"DeleteWrong", http.MethodDelete, "Bearer wrong", http.StatusForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r response
			if tc.auth == "" {
				r = do(t, tc.method, url, body)
			} else {
				r = do(t, tc.method, url, body, "Authorization", tc.auth)
			}
			msg := r.errMsg(t)
			if r.status != tc.status || !strings.Contains(msg, "--admin-token") {
				t.Fatalf("status %d %q, want %d with a hint", r.status, msg, tc.status)
			}
			if tc.status == http.StatusUnauthorized && r.header.Get("WWW-Authenticate") == "" {
				t.Fatalf("401 without WWW-Authenticate")
			}
		})
	}
	if got := list(t, svc).Version; got != 0 {
		t.Fatalf("version %d after refused admin calls, want 0", got)
	}
	if r := do(t, http.MethodPut, url, body, "Authorization", "bearer "+testToken); r.status != http.StatusCreated {
		t.Fatalf("PUT with the token: %d %s", r.status, r.body)
	}
}

func TestServer_Delete(t *testing.T) {
	svc := startService(t, nil)
	url := svc.URL() + "/v1/prices/azure"
	if r := do(t, http.MethodDelete, url, "", authHdr...); r.status != http.StatusNotFound {
		t.Fatalf("DELETE missing: %d %s, want 404", r.status, r.body)
	}
	put(t, svc, "azure", `{"egress_usd_per_gb":0.087,"server_usd_per_hour":0.0207}`)
	r := do(t, http.MethodDelete, url, "", authHdr...)
	var dr DeleteResponse
	if err := json.Unmarshal(r.body, &dr); r.status != http.StatusOK || err != nil || !dr.Deleted || dr.Version != 2 {
		t.Fatalf("DELETE: %d %s", r.status, r.body)
	}
	if r := do(t, http.MethodGet, url, ""); r.status != http.StatusNotFound {
		t.Fatalf("GET after DELETE: %d, want 404", r.status)
	}
	if got := list(t, svc); got.Version != 2 || len(got.Providers) != 0 {
		t.Fatalf("list after delete: %+v", got)
	}
}

func TestServer_MethodNotAllowed(t *testing.T) {
	svc := startService(t, nil)
	r := do(t, http.MethodPost, svc.URL()+"/v1/prices", "{}")
	if r.status != http.StatusMethodNotAllowed {
		t.Fatalf("POST /v1/prices: %d, want 405", r.status)
	}
	r.errMsg(t)
}

func TestServer_HealthzMetrics(t *testing.T) {
	svc := startService(t, nil)
	if r := do(t, http.MethodGet, svc.URL()+"/healthz", ""); r.status != http.StatusOK {
		t.Fatalf("/healthz: %d", r.status)
	}
	put(t, svc, "aws", `{"egress_usd_per_gb":0.09,"server_usd_per_hour":0.0208}`)
	put(t, svc, "gcp", `{"egress_usd_per_gb":0.12,"server_usd_per_hour":0.016751}`)
	do(t, http.MethodGet, svc.URL()+"/v1/prices/nope", "")
	r := do(t, http.MethodGet, svc.URL()+"/metrics", "")
	if r.status != http.StatusOK {
		t.Fatalf("/metrics: %d", r.status)
	}
	for _, want := range []string{
		"priceinfo_price_version 2",
		`priceinfo_http_requests_total{code="201",method="PUT",route="/v1/prices/{provider}"} 2`,
		`priceinfo_http_requests_total{code="404",method="GET",route="/v1/prices/{provider}"} 1`,
		"priceinfo_http_request_duration_seconds_bucket",
	} {
		if !strings.Contains(string(r.body), want) {
			t.Fatalf("/metrics lacks %q", want)
		}
	}
}

func TestServer_RestartKeepsData(t *testing.T) {
	dir := t.TempDir()
	seed := []byte(`[{"provider":"aws","egress_usd_per_gb":0.09,"server_usd_per_hour":0.0208}]`)
	cfg := func(c *Config) { c.DataDir = dir; c.Seed = seed }
	svc := startService(t, cfg)
	if got := list(t, svc); got.Version != 1 || len(got.Providers) != 1 {
		t.Fatalf("seeded list: %+v", got)
	}
	put(t, svc, "gcp", `{"egress_usd_per_gb":0.12,"server_usd_per_hour":0.016751}`)
	if r := do(t, http.MethodDelete, svc.URL()+"/v1/prices/aws", "", authHdr...); r.status != http.StatusOK {
		t.Fatalf("DELETE: %d", r.status)
	}
	before := do(t, http.MethodGet, svc.URL()+"/v1/prices", "")
	if err := svc.Close(); err != nil {
		t.Fatal(err)
	}

	svc = startService(t, cfg)
	after := do(t, http.MethodGet, svc.URL()+"/v1/prices", "")
	if string(after.body) != string(before.body) || after.header.Get("ETag") != before.header.Get("ETag") {
		t.Fatalf("after restart:\n%s ETag %s\nwant\n%s ETag %s", after.body, after.header.Get("ETag"), before.body, before.header.Get("ETag"))
	}
	// A poller's old ETag still saves it the body after the restart.
	if r := do(t, http.MethodGet, svc.URL()+"/v1/prices", "", "If-None-Match", before.header.Get("ETag")); r.status != http.StatusNotModified {
		t.Fatalf("old ETag after restart: %d, want 304", r.status)
	}
}

func TestServer_ConcurrentPuts(t *testing.T) {
	svc := startService(t, nil)
	const n = 16
	var wg sync.WaitGroup
	statuses := make(chan int, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest(http.MethodPut, fmt.Sprintf("%s/v1/prices/p%d", svc.URL(), i),
				strings.NewReader(fmt.Sprintf(`{"egress_usd_per_gb":%d,"server_usd_per_hour":1}`, i)))
			req.Header.Set("Authorization", "Bearer "+testToken)
			resp, err := httpClient.Do(req)
			if err != nil {
				statuses <- 0
				return
			}
			resp.Body.Close()
			statuses <- resp.StatusCode
		}()
	}
	wg.Wait()
	close(statuses)
	for s := range statuses {
		if s != http.StatusCreated {
			t.Fatalf("concurrent PUT status %d, want 201", s)
		}
	}
	if got := list(t, svc); got.Version != n || len(got.Providers) != n {
		t.Fatalf("after %d puts: version %d, %d rows", n, got.Version, len(got.Providers))
	}
}

func TestStart_Errors(t *testing.T) {
	t.Run("BadListen", func(t *testing.T) {
		cfg := DefaultConfig()
		cfg.Listen = "nohostport"
		_, err := Start(context.Background(), cfg)
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Field != "listen" {
			t.Fatalf("Start err=%v, want a ConfigError for listen", err)
		}
	})
	t.Run("BadSeed", func(t *testing.T) {
		_, err := Start(context.Background(), Config{Listen: "127.0.0.1:0", DataDir: t.TempDir(), Seed: []byte(`[{"provider":"aws"}]`)})
		if err == nil || !strings.Contains(err.Error(), "egress_usd_per_gb") {
			t.Fatalf("Start with a bad seed err=%v, want one naming the field", err)
		}
	})
	t.Run("MissingSeedFile", func(t *testing.T) {
		_, err := Start(context.Background(), Config{Listen: "127.0.0.1:0", DataDir: t.TempDir(), SeedFile: "/nonexistent/prices.json"})
		if !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("Start with a missing seed file err=%v", err)
		}
	})
	t.Run("PortInUse", func(t *testing.T) {
		svc := startService(t, nil)
		_, err := Start(context.Background(), Config{Listen: svc.Addr(), DataDir: t.TempDir()})
		if err == nil {
			t.Fatalf("second Start on %s succeeded", svc.Addr())
		}
	})
	t.Run("DataDirLocked", func(t *testing.T) {
		dir := t.TempDir()
		startService(t, func(c *Config) { c.DataDir = dir })
		_, err := Start(context.Background(), Config{Listen: "127.0.0.1:0", DataDir: dir})
		if err == nil {
			t.Fatalf("second Start on the same data dir succeeded")
		}
	})
}

func TestRun_StopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	started := make(chan string, 1)
	logger := slog.New(&notifyHandler{msg: "priceinfo listening", ch: started})
	done := make(chan error, 1)
	go func() { done <- Run(ctx, Config{Listen: "127.0.0.1:0", DataDir: t.TempDir(), Logger: logger}) }()
	select {
	case url := <-started:
		if r := do(t, http.MethodGet, url+"/healthz", ""); r.status != http.StatusOK {
			t.Fatalf("/healthz: %d", r.status)
		}
	case err := <-done:
		t.Fatalf("Run returned before serving: %v", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run after cancel: %v, want nil", err)
	}
}

// notifyHandler sends the "url" attribute of the first record with msg.
type notifyHandler struct {
	msg string
	ch  chan string
}

func (h *notifyHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *notifyHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *notifyHandler) WithGroup(string) slog.Handler            { return h }
func (h *notifyHandler) Handle(_ context.Context, r slog.Record) error {
	if r.Message != h.msg {
		return nil
	}
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "url" {
			select {
			case h.ch <- a.Value.String():
			default:
			}
			return false
		}
		return true
	})
	return nil
}
