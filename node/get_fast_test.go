package node

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"metacdn/storage"
)

// writeLog is a net.Conn that records each Write call.
type writeLog struct {
	net.Conn
	writes [][]byte
}

func (w *writeLog) Write(p []byte) (int, error) {
	w.writes = append(w.writes, bytes.Clone(p))
	return len(p), nil
}

func TestRespConn_GathersIntoOneWrite(t *testing.T) {
	log := &writeLog{}
	c := &respConn{Conn: log}
	c.Write([]byte("before "))
	c.hold(100)
	for _, s := range []string{"head ", "body ", "tail"} {
		if n, err := c.Write([]byte(s)); n != len(s) || err != nil {
			t.Fatalf("Write(%q) = %d, %v", s, n, err)
		}
	}
	if len(log.writes) != 1 {
		t.Fatalf("%d writes reached the socket while holding, want 1 (before)", len(log.writes))
	}
	if err := c.release(); err != nil {
		t.Fatal(err)
	}
	c.Write([]byte("after"))
	want := []string{"before ", "head body tail", "after"}
	if len(log.writes) != len(want) {
		t.Fatalf("writes %q, want %q", log.writes, want)
	}
	for i, w := range want {
		if string(log.writes[i]) != w {
			t.Fatalf("write %d = %q, want %q", i, log.writes[i], w)
		}
	}
}

func TestRespConn_OverflowKeepsOrder(t *testing.T) {
	log := &writeLog{}
	c := &respConn{Conn: log}
	c.hold(10)
	small := []byte("abc")
	big := bytes.Repeat([]byte("x"), 20<<10) // past the buffer's class
	c.Write(small)
	c.Write(big)
	c.Write(small)
	c.release()
	var got []byte
	for _, w := range log.writes {
		got = append(got, w...)
	}
	want := append(append(append([]byte(nil), small...), big...), small...)
	if !bytes.Equal(got, want) {
		t.Fatalf("bytes out of order: %d bytes, want %d", len(got), len(want))
	}
	n, err := c.ReadFrom(strings.NewReader("rest"))
	if n != 4 || err != nil || string(log.writes[len(log.writes)-1]) != "rest" {
		t.Fatalf("ReadFrom after release = %d, %v", n, err)
	}
}

// TestGet_GatheredAnswersOverOneConnection reads GETs and HEADs of objects
// around the gathering bounds, with metadata headers past gatherSlack,
// from one keep-alive connection: each answer must be whole and in order.
func TestGet_GatheredAnswersOverOneConnection(t *testing.T) {
	cfg := DefaultConfig()
	cfg.ID = "g"
	cfg.Listen = "127.0.0.1:0"
	cfg.DataDir = t.TempDir()
	n, err := Start(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()

	sizes := []int{0, gatherMin - 1, gatherMin, 10 << 10, gatherMax, gatherMax + 1, 1 << 20}
	bodies := make(map[string][]byte)
	for _, size := range sizes {
		for _, bigMeta := range []bool{false, true} {
			key := fmt.Sprintf("g/%d-%v", size, bigMeta)
			body := make([]byte, size)
			rand.Read(body)
			req, _ := http.NewRequest(http.MethodPut, n.URL()+"/v1/objects/"+key, bytes.NewReader(body))
			if bigMeta {
				req.Header.Set("X-Meta-Note", strings.Repeat("m", 2*gatherSlack))
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusCreated {
				t.Fatalf("PUT %s: %s", key, resp.Status)
			}
			bodies[key] = body
		}
	}

	conn, err := net.Dial("tcp", n.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// A held answer that is never released would hang the reads.
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	br := bufio.NewReader(conn)
	for round := range 2 {
		for key, body := range bodies {
			for _, method := range []string{http.MethodGet, http.MethodHead} {
				req, _ := http.NewRequest(method, n.URL()+"/v1/objects/"+key, nil)
				if err := req.Write(conn); err != nil {
					t.Fatal(err)
				}
				resp, err := http.ReadResponse(br, req)
				if err != nil {
					t.Fatalf("round %d %s %s: %v", round, method, key, err)
				}
				got, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil || resp.StatusCode != http.StatusOK {
					t.Fatalf("round %d %s %s: %s, %v", round, method, key, resp.Status, err)
				}
				if resp.ContentLength != int64(len(body)) {
					t.Fatalf("%s %s: Content-Length %d, want %d", method, key, resp.ContentLength, len(body))
				}
				if method == http.MethodGet && !bytes.Equal(got, body) {
					t.Fatalf("GET %s: %d bytes differ from the %d put", key, len(got), len(body))
				}
				if strings.HasSuffix(key, "true") && len(resp.Header.Get("X-Meta-Note")) != 2*gatherSlack {
					t.Fatalf("%s %s: metadata header lost", method, key)
				}
			}
		}
	}
}

// TestFront_RequestIDLogAndPanic checks the one wrapper in front of the
// routes: chi's request id (the client's X-Request-Id, or host/random-N),
// one log line per request, the metrics, and a JSON 500 for a panic.
func TestFront_RequestIDLogAndPanic(t *testing.T) {
	var logs bytes.Buffer
	log, err := NewLogger(&logs, "debug", "json")
	if err != nil {
		t.Fatal(err)
	}
	db, err := storage.Open(filepath.Join(t.TempDir(), DBFile), storage.Options{NodeID: "f"})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	reg := prometheus.NewRegistry()
	n := &Node{log: log, met: newMetrics(reg, db)}
	var seen []string
	mux := chi.NewRouter()
	mux.Get("/id/{x}", func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, middleware.GetReqID(r.Context())+" "+chi.URLParam(r, "x"))
		w.Write([]byte("ok"))
	})
	mux.Get("/panic", func(w http.ResponseWriter, r *http.Request) { panic("boom") })
	srv := httptest.NewServer(n.front(mux, http.NotFoundHandler()))
	defer srv.Close()

	get := func(path, id string) *http.Response {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		if id != "" {
			req.Header.Set("X-Request-Id", id)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	get("/id/a", "client-id-7")
	get("/id/b", "")
	if resp := get("/panic", ""); resp.StatusCode != http.StatusInternalServerError || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("panic answered %s, %s", resp.Status, resp.Header.Get("Content-Type"))
	}
	if len(seen) != 2 || seen[0] != "client-id-7 a" {
		t.Fatalf("handlers saw %q", seen)
	}
	if !regexp.MustCompile(`^.+/[0-9A-Za-z]{10}-\d{6,} b$`).MatchString(seen[1]) {
		t.Fatalf("generated request id %q is not chi's form", seen[1])
	}
	type line struct {
		Msg       string `json:"msg"`
		RequestID string `json:"request_id"`
		Path      string `json:"path"`
		Status    int    `json:"status"`
		Bytes     int    `json:"bytes"`
	}
	var lines []line
	for _, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var v line
		if err := json.Unmarshal([]byte(l), &v); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		lines = append(lines, v)
	}
	want := []line{
		{"request", "client-id-7", "/id/a", 200, 2},
		{"request", strings.TrimSuffix(seen[1], " b"), "/id/b", 200, 2},
		{"panic in handler", "", "", 0, 0},
		{"request", "", "/panic", 500, 27},
	}
	if len(lines) != len(want) {
		t.Fatalf("log lines %+v, want %d", lines, len(want))
	}
	for i, w := range want {
		got := lines[i]
		if w.RequestID == "" {
			got.RequestID = "" // generated: checked above
			if lines[i].RequestID == "" {
				t.Fatalf("line %d has no request id", i)
			}
		}
		if got != w {
			t.Fatalf("log line %d = %+v, want %+v", i, got, w)
		}
	}
	scrape := httptest.NewRecorder()
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(scrape, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	for _, series := range []string{
		`metacdn_http_requests_total{code="200",method="GET",route="/id/{x}"} 2`,
		`metacdn_http_requests_total{code="500",method="GET",route="/panic"} 1`,
		`metacdn_http_response_bytes_total 31`,
	} {
		if !strings.Contains(scrape.Body.String(), series+"\n") {
			t.Errorf("metrics lack %s:\n%s", series, scrape.Body.String())
		}
	}
}

// TestRouter_ObjectRoutes pins the answers of the object routes' edges,
// which sit on the top router rather than a sub-router.
func TestRouter_ObjectRoutes(t *testing.T) {
	cfg := DefaultConfig()
	cfg.ID = "r"
	cfg.Listen = "127.0.0.1:0"
	cfg.DataDir = t.TempDir()
	cfg.AdminToken = "tok"
	n, err := Start(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	for _, tc := range []struct {
		method, path string
		status       int
	}{
		{"PUT", "/v1/objects/k", http.StatusCreated},
		{"GET", "/v1/objects", http.StatusOK},
		{"GET", "/v1/objects/", http.StatusOK},
		{"GET", "/v1/objects/k", http.StatusOK},
		{"HEAD", "/v1/objects/k", http.StatusOK},
		{"PUT", "/v1/objects/", http.StatusBadRequest},
		{"HEAD", "/v1/objects/", http.StatusBadRequest},
		{"DELETE", "/v1/objects/k", http.StatusUnauthorized},
		{"POST", "/v1/objects/k", http.StatusMethodNotAllowed},
		{"POST", "/v1/objects", http.StatusMethodNotAllowed},
		{"GET", "/v1/objectsx", http.StatusNotFound},
		{"GET", "/v1/objects/missing", http.StatusNotFound},
		// Escapes: decoded (no RawPath) and kept (RawPath, left to chi).
		{"PUT", "/v1/objects/a%20b", http.StatusCreated},
		{"GET", "/v1/objects/a%20b", http.StatusOK},
		{"GET", "/v1/objects/a b", http.StatusOK},
		{"PUT", "/v1/objects/c%2Fd", http.StatusCreated},
		{"GET", "/v1/objects/c%2Fd", http.StatusOK},
		{"HEAD", "/v1/objects/c%2Fd", http.StatusOK},
	} {
		req, _ := http.NewRequest(tc.method, n.URL()+tc.path, strings.NewReader("x"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("%s %s: %s, want %d", tc.method, tc.path, resp.Status, tc.status)
		}
	}
}
