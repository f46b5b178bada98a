package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"metacdn/pricedb"
)

// buildBinary compiles cmd/priceinfo into a temporary directory.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "priceinfo")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// proc is a running priceinfo process whose log goes to a file that is
// dumped if the test fails.
type proc struct {
	cmd     *exec.Cmd
	url     string
	done    chan error // receives Wait's result once
	stopped bool
}

func startProc(t *testing.T, bin string, env []string, args ...string) *proc {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), "priceinfo.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		logFile.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("priceinfo log:\n%s", b)
		}
	})
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, done: make(chan error, 1)}
	urls := make(chan string, 1)
	go func() {
		// Copy every line to the log file; report the bound URL once.
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Bytes()
			logFile.Write(append(line, '\n'))
			var rec struct {
				Msg string `json:"msg"`
				URL string `json:"url"`
			}
			if json.Unmarshal(line, &rec) == nil && rec.Msg == "priceinfo listening" {
				select {
				case urls <- rec.URL:
				default:
				}
			}
		}
		p.done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		if !p.stopped {
			cmd.Process.Kill()
			<-p.done
		}
	})
	select {
	case p.url = <-urls:
	case err := <-p.done:
		p.done <- err
		t.Fatalf("priceinfo exited before listening: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatalf("priceinfo did not report its address")
	}
	return p
}

// stop sends SIGTERM and returns the exit code.
func (p *proc) stop(t *testing.T) int {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.done:
		p.stopped = true
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatalf("wait: %v", err)
		}
		return 0
	case <-time.After(30 * time.Second):
		t.Fatalf("priceinfo did not exit after SIGTERM")
		return -1
	}
}

func request(t *testing.T, method, url, body, token string) (int, http.Header, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}

func TestBinary(t *testing.T) {
	bin := buildBinary(t)
	data := t.TempDir()
	seed, err := filepath.Abs("../../fixtures/prices.json")
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"--listen", "127.0.0.1:0", "--data", data, "--seed", seed, "--log-format", "json"}
	p := startProc(t, bin, []string{"CDN_ADMIN_TOKEN=env-token"}, args...)

	status, hdr, body := request(t, http.MethodGet, p.url+"/v1/prices", "", "")
	var lr pricedb.ListResponse
	if err := json.Unmarshal(body, &lr); status != http.StatusOK || err != nil {
		t.Fatalf("GET /v1/prices: %d %s", status, body)
	}
	if len(lr.Providers) != 3 || lr.Providers[0].Provider != "aws" || lr.Providers[1].Provider != "azure" || lr.Providers[2].Provider != "gcp" || lr.Version != 1 {
		t.Fatalf("seeded list: %s", body)
	}
	tag := hdr.Get("ETag")
	req, _ := http.NewRequest(http.MethodGet, p.url+"/v1/prices", nil)
	req.Header.Set("If-None-Match", tag)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotModified {
		t.Fatalf("If-None-Match: %d, want 304", resp.StatusCode)
	}

	if status, _, body := request(t, http.MethodPut, p.url+"/v1/prices/aws", `{"egress_usd_per_gb":-1,"server_usd_per_hour":1}`, "env-token"); status != http.StatusBadRequest || !bytes.Contains(body, []byte("egress_usd_per_gb")) {
		t.Fatalf("PUT negative: %d %s", status, body)
	}
	if status, _, body := request(t, http.MethodPut, p.url+"/v1/prices/hetzner", `{"egress_usd_per_gb":0.001,"server_usd_per_hour":0.006}`, "wrong"); status != http.StatusForbidden {
		t.Fatalf("PUT wrong token: %d %s", status, body)
	}
	if status, _, body := request(t, http.MethodPut, p.url+"/v1/prices/hetzner", `{"egress_usd_per_gb":0.001,"server_usd_per_hour":0.006}`, "env-token"); status != http.StatusCreated {
		t.Fatalf("PUT with the env token: %d %s", status, body)
	}
	if code := p.stop(t); code != 0 {
		t.Fatalf("exit code after SIGTERM %d, want 0", code)
	}

	// Restarted on the same data, it keeps the change and does not reseed;
	// --admin-token wins over the environment.
	p = startProc(t, bin, []string{"CDN_ADMIN_TOKEN=env-token"}, append(args, "--admin-token", "flag-token")...)
	_, _, body = request(t, http.MethodGet, p.url+"/v1/prices", "", "")
	lr = pricedb.ListResponse{}
	if err := json.Unmarshal(body, &lr); err != nil || len(lr.Providers) != 4 || lr.Version != 2 {
		t.Fatalf("after restart: %s", body)
	}
	if status, _, _ := request(t, http.MethodDelete, p.url+"/v1/prices/hetzner", "", "env-token"); status != http.StatusForbidden {
		t.Fatalf("DELETE with the env token while --admin-token is set: %d, want 403", status)
	}
	if status, _, body := request(t, http.MethodDelete, p.url+"/v1/prices/hetzner", "", "flag-token"); status != http.StatusOK {
		t.Fatalf("DELETE with the flag token: %d %s", status, body)
	}
	if code := p.stop(t); code != 0 {
		t.Fatalf("exit code after SIGTERM %d, want 0", code)
	}
}

func TestBinary_BadFlags(t *testing.T) {
	bin := buildBinary(t)
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"Help", []string{"-h"}, 0, "-listen HOST:PORT"},
		{"UnknownFlag", []string{"--nope"}, 2, "Try: priceinfo"},
		{"BadListen", []string{"--listen", "nohostport"}, 2, "--listen"},
		{"BadLogFormat", []string{"--log-format", "xml"}, 2, "--log-format"},
		{"MissingSeed", []string{"--listen", "127.0.0.1:0", "--data", t.TempDir(), "--seed", "/nonexistent.json"}, 1, "nonexistent.json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(bin, tc.args...)
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			err := cmd.Run()
			code := 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tc.code || !strings.Contains(out.String(), tc.want) {
				t.Fatalf("exit %d, output %q; want exit %d mentioning %q", code, out.String(), tc.code, tc.want)
			}
		})
	}
}

func TestParseFlags(t *testing.T) {
	t.Setenv(envAdminToken, "from-env")
	cfg, lo, err := parseFlags([]string{"--listen", ":0", "--data", "d", "--seed", "s.json", "--log-level", "debug", "--log-format", "json"}, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != ":0" || cfg.DataDir != "d" || cfg.SeedFile != "s.json" || cfg.AdminToken != "from-env" || lo.level != "debug" || lo.format != "json" {
		t.Fatalf("parseFlags: %+v %+v", cfg, lo)
	}
	cfg, _, err = parseFlags([]string{"--admin-token", "from-flag"}, io.Discard, io.Discard)
	if err != nil || cfg.AdminToken != "from-flag" {
		t.Fatalf("--admin-token: %q, %v", cfg.AdminToken, err)
	}
	if _, _, err := parseFlags([]string{"-h"}, io.Discard, io.Discard); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("-h err=%v, want flag.ErrHelp", err)
	}
	if _, _, err := parseFlags([]string{"--data", ""}, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "--data") {
		t.Fatalf("empty --data err=%v", err)
	}
	if _, _, err := parseFlags([]string{"extra"}, io.Discard, io.Discard); err == nil {
		t.Fatalf("stray argument accepted")
	}
}

func TestRun_InProcess(t *testing.T) {
	t.Setenv(envAdminToken, "")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--listen", "127.0.0.1:0", "--data", t.TempDir(), "--log-format", "json"}, io.Discard, pw)
		pw.Close()
	}()
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			var rec struct{ Msg, URL string }
			if json.Unmarshal(sc.Bytes(), &rec) == nil && rec.Msg == "priceinfo listening" {
				urls <- rec.URL
			}
		}
		io.Copy(io.Discard, pr)
	}()
	select {
	case url := <-urls:
		if status, _, _ := request(t, http.MethodGet, url+"/healthz", "", ""); status != http.StatusOK {
			t.Fatalf("/healthz: %d", status)
		}
		if status, _, body := request(t, http.MethodPut, url+"/v1/prices/aws", `{"egress_usd_per_gb":1,"server_usd_per_hour":1}`, "x"); status != http.StatusForbidden || !bytes.Contains(body, []byte("--admin-token")) {
			t.Fatalf("PUT without a configured token: %d %s", status, body)
		}
	case err := <-done:
		t.Fatalf("run returned early: %v", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run after cancel: %v", err)
	}
}
