package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"metacdn/fixtures"
)

func cdnServer(t *testing.T) *httptest.Server {
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/healthz":
			io.WriteString(w, "ok")
		case "/v1/peers":
			fmt.Fprintf(w, `{"self":{"id":"n1","url":%q,"provider":"aws"},"peers":[]}`, srv.URL)
		case "/v1/objects/cat.jpg":
			io.WriteString(w, "meow")
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

var addrRE = regexp.MustCompile(`msg="proxy listening" addr=(\S+)`)

func TestRun(t *testing.T) {
	cdn := cdnServer(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var stderr fixtures.SyncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--listen", "127.0.0.1:0", "--server", cdn.URL, "--policy", "combined", "--weight", "0.3"}, io.Discard, &stderr)
	}()
	var addr string
	deadline := time.Now().Add(10 * time.Second)
	for addr == "" {
		if m := addrRE.FindStringSubmatch(stderr.String()); m != nil {
			addr = m[1]
			break
		}
		select {
		case err := <-done:
			t.Fatalf("run returned early: %v\n%s", err, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no listening line in:\n%s", stderr.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	// Poll until discovery has run and the proxy serves.
	var resp *http.Response
	for {
		r, err := http.Get("http://" + addr + "/v1/objects/cat.jpg")
		if err == nil && r.StatusCode == 200 {
			resp = r
			break
		}
		if err == nil {
			r.Body.Close()
		}
		if time.Now().After(deadline) {
			t.Fatalf("proxy never served: %v\n%s", err, stderr.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "meow" || resp.Header.Get("X-Cdn-Server") != "n1" || resp.Header.Get("X-Cdn-Policy") != "combined" {
		t.Fatalf("got %q server %q policy %q", body, resp.Header.Get("X-Cdn-Server"), resp.Header.Get("X-Cdn-Policy"))
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("run did not return after cancel")
	}
	if !strings.Contains(stderr.String(), "proxy stopped") {
		t.Fatalf("no clean stop in log:\n%s", stderr.String())
	}
}

func TestRun_Flags(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"NoServer", []string{}, "--server"},
		{"BadPolicy", []string{"--server", "http://127.0.0.1:1", "--policy", "cheap"}, "unknown policy"},
		{"BadWeight", []string{"--server", "http://127.0.0.1:1", "--weight", "2"}, "Weight"},
		{"BadURL", []string{"--server", "127.0.0.1:1"}, "http://HOST:PORT"},
		{"BadStatic", []string{"--servers", "a"}, "id=url"},
		{"BadLogLevel", []string{"--server", "http://127.0.0.1:1", "--log-level", "loud"}, "log-level"},
		{"Extra", []string{"--server", "http://127.0.0.1:1", "extra"}, "unexpected argument"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			err := run(t.Context(), tc.args, io.Discard, &stderr)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("run(%v)=%v, want an error mentioning %q", tc.args, err, tc.want)
			}
		})
	}
	t.Run("Help", func(t *testing.T) {
		var stderr bytes.Buffer
		err := run(t.Context(), []string{"-h"}, io.Discard, &stderr)
		if !errors.Is(err, flag.ErrHelp) || !strings.Contains(stderr.String(), "--policy") && !strings.Contains(stderr.String(), "-policy") {
			t.Fatalf("-h: %v\n%s", err, stderr.String())
		}
	})
}
