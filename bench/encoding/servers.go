package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// ErrNotReady is returned when a server does not come up or its peers do
// not become alive in time.
var ErrNotReady = errors.New("server not ready")

// BuildServer builds cmd/server into dir and returns the program's path:
// the experiment measures the real program, as users run it.
func BuildServer(ctx context.Context, dir string) (string, error) {
	out := filepath.Join(dir, "server")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "metacdn/cmd/server")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build cmd/server: %w\n%s", err, b)
	}
	return out, nil
}

// Server is one server process.
type Server struct {
	ID      string
	Listen  string // HOST:PORT it binds
	DataDir string
	LogPath string
	cmd     *exec.Cmd
	log     *os.File
	exited  chan struct{}
}

// Direct is the server's own base URL, bypassing any link.
func (s *Server) Direct() string { return "http://" + s.Listen }

// Pid is the server's process id.
func (s *Server) Pid() int { return s.cmd.Process.Pid }

// StartServer starts bin with a fresh data directory under dir, listening
// on listen, and waits until /healthz answers.
func StartServer(ctx context.Context, bin, dir, id, listen string, extra ...string) (*Server, error) {
	s := &Server{ID: id, Listen: listen, DataDir: filepath.Join(dir, id), LogPath: filepath.Join(dir, id+".log"),
		exited: make(chan struct{})}
	logf, err := os.Create(s.LogPath)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", id, err)
	}
	args := append([]string{"--id", id, "--listen", listen, "--data", s.DataDir, "--log-level", "warn"}, extra...)
	s.cmd = exec.Command(bin, args...)
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	if err := s.cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", id, err)
	}
	s.log = logf
	go func() { s.cmd.Wait(); close(s.exited) }()
	if err := s.waitHealthy(ctx, 30*time.Second); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

func (s *Server) waitHealthy(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	hc := &http.Client{Timeout: 2 * time.Second}
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.Direct()+"/healthz", nil)
		if res, err := hc.Do(req); err == nil {
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-s.exited:
			return fmt.Errorf("%s exited: %w\n%s", s.ID, ErrNotReady, tail(s.LogPath))
		case <-ctx.Done():
			return fmt.Errorf("%s: %w: no healthy answer within %v\n%s", s.ID, ErrNotReady, timeout, tail(s.LogPath))
		case <-time.After(20 * time.Millisecond): // polling interval
		}
	}
}

// Stop asks the server to exit (SIGTERM), kills it after 20 s, and waits.
func (s *Server) Stop() {
	select {
	case <-s.exited:
	default:
		s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.exited:
		case <-time.After(20 * time.Second):
			s.cmd.Process.Kill()
			<-s.exited
		}
	}
	s.log.Close()
}

// WaitPeersAlive polls GET /v1/peers until the server sees want peers
// alive.
func (s *Server) WaitPeersAlive(ctx context.Context, want int, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	hc := &http.Client{Timeout: 2 * time.Second}
	alive := 0
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.Direct()+"/v1/peers", nil)
		if res, err := hc.Do(req); err == nil {
			var pl struct {
				Peers []struct {
					State string `json:"state"`
				} `json:"peers"`
			}
			err = json.NewDecoder(res.Body).Decode(&pl)
			res.Body.Close()
			alive = 0
			for _, p := range pl.Peers {
				if p.State == "alive" {
					alive++
				}
			}
			if err == nil && alive >= want {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %w: %d of %d peers alive after %v", s.ID, ErrNotReady, alive, want, timeout)
		case <-time.After(50 * time.Millisecond): // polling interval
		}
	}
}

// portTaken reports whether a server failed to start because another
// process took its port between ports.Free and the server's own bind: the
// caller then tries again on a new port.
func portTaken(err error) bool {
	return errors.Is(err, ErrNotReady) && strings.Contains(err.Error(), "address already in use")
}

// tail returns the end of a log file for an error message.
func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return strings.TrimSpace(string(b))
}
