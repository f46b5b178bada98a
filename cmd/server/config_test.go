package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestRun_ConfigFile(t *testing.T) {
	dir := t.TempDir()
	write := func(body string) string {
		p := filepath.Join(dir, "config.json")
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name string
		file string
		args []string
		want string // part of the error
	}{
		{"UnknownSetting", `{"id":"s1","data":"d","colour":"blue"}`, nil, `unknown setting "colour"`},
		{"BadPeers", `{"id":"s1","data":"d","peers":"http://x"}`, nil, "peers: want a list"},
		{"BadPeerURL", `{"id":"s1","data":"d","peers":["ftp://x"]}`, nil, "config: peers"},
		{"BadDuration", `{"id":"s1","data":"d","heartbeat":"soon"}`, nil, "heartbeat"},
		{"Malformed", `{"id":`, nil, "config.json"},
		// The command line wins over the file: its bad encoding is the error.
		{"FlagWins", `{"id":"s1","data":"d","encoding":"json"}`, []string{"--encoding", "xml"}, "--encoding"},
		{"MissingID", `{"data":"d"}`, nil, "config: id: required"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"--config", write(tc.file)}, tc.args...)
			err := run(context.Background(), args, io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("run(%v)=%v, want an error containing %q", args, err, tc.want)
			}
		})
	}
}

// A valid file starts a server that stops when the context ends.
func TestRun_ConfigFileStarts(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "config.json")
	body := `{"id":"s9","listen":"127.0.0.1:0","data":"` + filepath.Join(dir, "data") +
		`","peers":["http://127.0.0.1:1"],"heartbeat":"1s","provider":"gcp","log-level":"error"}`
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"--config", p}, io.Discard, io.Discard) }()
	// The database appearing means the file's settings were taken.
	for {
		if _, err := os.Stat(filepath.Join(dir, "data", "metacdn.db")); err == nil {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("server exited: %v", err)
		case <-time.After(10 * time.Millisecond):
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
}
