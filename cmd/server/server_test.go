package main_test

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"metacdn/fixtures"
)

func TestMain(m *testing.M) { os.Exit(fixtures.RunTests(m)) }

// writeRandomFile writes size pseudo-random bytes (seeded, so failures
// repeat) and returns the file's path and SHA-256.
func writeRandomFile(tb testing.TB, dir, name string, size int64, seed uint64) (string, string) {
	tb.Helper()
	path := filepath.Join(dir, name)
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	rng := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8)})
	if _, err := io.CopyN(io.MultiWriter(f, h), rng, size); err != nil {
		tb.Fatal(err)
	}
	return path, hex.EncodeToString(h.Sum(nil))
}

func runUpload(tb testing.TB, args ...string) (string, error) {
	tb.Helper()
	var out, errb bytes.Buffer
	cmd := exec.Command(fixtures.Binary(tb, "upload"), args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if err != nil {
		return errb.String(), err
	}
	return out.String(), nil
}

func getBody(tb testing.TB, url string) (int, []byte) {
	tb.Helper()
	res, err := http.Get(url)
	if err != nil {
		tb.Fatalf("GET %s: %v", url, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return res.StatusCode, b
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// TestServer_UploadKillRestart uploads with the upload program in both
// encodings and with curl -T, kills the server with SIGKILL, restarts it
// and reads every acknowledged object back byte for byte.
func TestServer_UploadKillRestart(t *testing.T) {
	c := fixtures.StartCluster(t, 1, fixtures.ClusterOptions{})
	s := c.Servers[0]
	dir := t.TempDir()
	want := map[string]string{} // key -> sha256
	for i, enc := range []string{"json", "protobuf"} {
		// 9 MiB spans three messages of the default chunk size.
		for j, size := range []int64{0, 1 << 10, 9 << 20} {
			path, digest := writeRandomFile(t, dir, fmt.Sprintf("%s-%d.bin", enc, size), size, uint64(i*10+j))
			key := "files/" + filepath.Base(path)
			out, err := runUpload(t, "--server", s.URL, "--encoding", enc, "--key", key, "--meta", "enc="+enc, path)
			if err != nil {
				t.Fatalf("upload %s: %v: %s", path, err, out)
			}
			if want := fmt.Sprintf("%s\t%d\t%s\n", key, size, digest); out != want {
				t.Fatalf("upload printed %q, want %q", out, want)
			}
			want[key] = digest
		}
	}
	path, digest := writeRandomFile(t, dir, "curl.bin", 3<<20, 99)
	out, err := exec.Command("curl", "-sS", "-f", "-T", path, s.URL+"/v1/objects/curl/file.bin").CombinedOutput()
	if err != nil {
		t.Fatalf("curl -T: %v: %s", err, out)
	}
	if !strings.Contains(string(out), digest) {
		t.Fatalf("curl -T answer %s lacks the digest", out)
	}
	want["curl/file.bin"] = digest

	check := func(when string) {
		t.Helper()
		for key, digest := range want {
			status, body := getBody(t, s.URL+"/v1/objects/"+key)
			if status != 200 || sha(body) != digest {
				t.Fatalf("%s: %s: status %d, sha %s, want %s", when, key, status, sha(body), digest)
			}
		}
	}
	check("before the kill")
	c.Kill(s)
	c.Restart(s)
	check("after kill -9 and restart")
}

func TestUpload_Failures(t *testing.T) {
	c := fixtures.StartCluster(t, 1, fixtures.ClusterOptions{})
	s := c.Servers[0]
	dir := t.TempDir()
	path, _ := writeRandomFile(t, dir, "f.bin", 100, 1)
	// Each reason ends its line: "open ...: no such file or directory"
	// inside a "cannot reach" line does not tell a missing file.
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"NoFile", []string{"--server", s.URL, filepath.Join(dir, "missing")}, ": no such file\n"},
		{"ServerDown", []string{"--server", "http://" + fixtures.FreeAddr(t), path}, "cannot reach"},
		{"NoFileServerDown", []string{"--server", "http://" + fixtures.FreeAddr(t), filepath.Join(dir, "missing")}, ": no such file\n"},
		{"BadKey", []string{"--server", s.URL, "--key", "a/../b", path}, "400"},
		{"BadEncoding", []string{"--server", s.URL, "--encoding", "xml", path}, "unknown encoding"},
		{"NoArgs", []string{"--server", s.URL}, "no file given"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := runUpload(t, tc.args...)
			if err == nil {
				t.Fatalf("upload succeeded: %s", out)
			}
			if lines := strings.Count(strings.TrimSpace(out), "\n"); !strings.Contains(out, tc.want) || lines > 1 {
				t.Fatalf("stderr %q: want one line containing %q (a hint line may follow)", out, tc.want)
			}
		})
	}
}

// rssAnon reads a process's anonymous resident memory in bytes.
func rssAnon(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "RssAnon:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no RssAnon in /proc/%d/status", pid)
}

// TestServer_LargeUploadMemory sends a 256 MiB file through upload in
// both encodings and samples the server's anonymous resident memory while
// it runs: memory must not grow with the file's size.
func TestServer_LargeUploadMemory(t *testing.T) {
	const limit = 128 << 20
	c := fixtures.StartCluster(t, 1, fixtures.ClusterOptions{})
	s := c.Servers[0]
	path, digest := writeRandomFile(t, t.TempDir(), "big.bin", 256<<20, 7)
	for _, enc := range []string{"protobuf", "json"} {
		t.Run(enc, func(t *testing.T) {
			var peak int64
			stop := make(chan struct{})
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				tick := time.NewTicker(10 * time.Millisecond)
				defer tick.Stop()
				for {
					select {
					case <-stop:
						return
					case <-tick.C:
						if v, err := rssAnon(s.Pid()); err == nil && v > peak {
							peak = v
						}
					}
				}
			}()
			out, err := runUpload(t, "--server", s.URL, "--encoding", enc, "--key", "big/"+enc, path)
			close(stop)
			wg.Wait()
			if err != nil {
				t.Fatalf("upload: %v: %s", err, out)
			}
			t.Logf("server RssAnon peak during a 256 MiB %s upload: %.1f MiB", enc, float64(peak)/(1<<20))
			if peak == 0 || peak > limit {
				t.Fatalf("server RssAnon peak %d bytes, want between 1 and %d", peak, limit)
			}
			res, err := http.Get(s.URL + "/v1/objects/big/" + enc)
			if err != nil {
				t.Fatal(err)
			}
			h := sha256.New()
			n, err := io.Copy(h, res.Body)
			res.Body.Close()
			if err != nil || n != 256<<20 || hex.EncodeToString(h.Sum(nil)) != digest {
				t.Fatalf("read back %d bytes, err %v, digest mismatch", n, err)
			}
		})
	}
}

// TestServer_FreesMemoryLazily checks that the server runs with
// GODEBUG=madvdontneed=0 (see lazyfree_linux.go), keeping the other
// settings of a GODEBUG it was given, that an operator's own madvdontneed
// wins, and that the process keeps the name it was started by, also
// through a symlink.
func TestServer_FreesMemoryLazily(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the server sets madvdontneed on Linux only")
	}
	bin := fixtures.Binary(t, "server")
	link := filepath.Join(t.TempDir(), "metacdn-s1")
	if err := os.Symlink(bin, link); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, path, given, want string }{
		{"Unset", bin, "", "madvdontneed=0"},
		{"Other", bin, "http2debug=0", "http2debug=0,madvdontneed=0"},
		{"Operator", bin, "madvdontneed=1", "madvdontneed=1"},
		{"Symlink", link, "", "madvdontneed=0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := fixtures.FreeAddr(t)
			cmd := exec.Command(tc.path, "--id", "s1", "--listen", addr, "--data", t.TempDir())
			cmd.Env = append(os.Environ(), "GODEBUG="+tc.given)
			var logs fixtures.SyncBuffer
			cmd.Stdout, cmd.Stderr = &logs, &logs
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
			if err := fixtures.WaitHealthy(http.DefaultClient, "http://"+addr+"/healthz", 30*time.Second); err != nil {
				t.Fatalf("%v\n%s", err, logs.String())
			}
			// The process that answers is the one started: it execs itself
			// in place, keeping its pid.
			environ, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", cmd.Process.Pid))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, kv := range strings.Split(string(environ), "\x00") {
				if v, ok := strings.CutPrefix(kv, "GODEBUG="); ok {
					got = append(got, v)
				}
			}
			if len(got) != 1 || got[0] != tc.want {
				t.Errorf("GODEBUG in the server's environment: %q, want [%q]", got, tc.want)
			}
			// ps and pkill still know it by the name it was started by.
			comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", cmd.Process.Pid))
			if err != nil {
				t.Fatal(err)
			}
			if name := strings.TrimSpace(string(comm)); name != filepath.Base(tc.path) {
				t.Errorf("the server's process name is %q, want %q", name, filepath.Base(tc.path))
			}
			want := fmt.Sprintf("lazy_free=%v", tc.want != "madvdontneed=1")
			if !strings.Contains(logs.String(), want) {
				t.Errorf("the start log does not say %s:\n%s", want, logs.String())
			}
		})
	}
}
