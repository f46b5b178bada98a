package router

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"metacdn/fixtures"
)

// userObject is under MinThroughputSize, so no transfer moves the ranking.
const userObject = 48 << 10

// TestProxy_AsUser runs the real proxy program in front of three real
// servers and uses it as a user would: curl and wget in reverse and in
// forward mode, 200 concurrent Go clients, and curl again after the
// server the proxy picks is killed with SIGKILL.
func TestProxy_AsUser(t *testing.T) {
	cl := fixtures.StartCluster(t, 3, fixtures.ClusterOptions{Heartbeat: 200 * time.Millisecond})
	body := make([]byte, userObject)
	rand.Read(body)
	const key = "user/blob.bin"
	putObject(t, cl.Servers[0].Direct()+"/v1/objects/"+key, body)
	for _, s := range cl.Servers {
		waitFor(t, key+" on "+s.ID, func() bool {
			resp, err := http.Get(s.Direct() + "/v1/objects/" + key)
			if err != nil {
				return false
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			return resp.StatusCode == 200 && bytes.Equal(b, body)
		})
	}
	// The proxy asks s1 for the cluster once (discovery every minute), so
	// s1 must know every peer by id first.
	waitFor(t, "s1 knowing its peers by id", func() bool { return peerIDs(cl.Servers[0].Direct()) == 2 })

	proxy := startProxy(t, "--server", cl.Servers[0].URL, "--policy", "network",
		"--probe-interval", "1m", "--discovery-interval", "1m")
	// Start probes every server once and the probe loop again on its first
	// tick; after that no RTT sample comes for a minute, so the ranking
	// stays as it is and the failover below must start at the server the
	// proxy picks.
	waitFor(t, "the proxy knowing 3 servers, each probed twice", func() bool {
		st := proxyStatus(t, proxy)
		n := 0
		for _, s := range st.Servers {
			if s.RTTSamples >= 2 {
				n++
			}
		}
		return n == 3
	})

	objURL := proxy + "/v1/objects/" + key
	fwdURL := "http://any-host.invalid/v1/objects/" + key
	var picked string
	for _, tc := range []struct {
		name string
		argv []string
	}{
		{"CurlReverse", []string{"curl", "-q", "-sS", "-i", objURL}},
		{"CurlForward", []string{"curl", "-q", "-sS", "-i", "-x", proxy, fwdURL}},
		{"WgetReverse", []string{"wget", "--no-config", "-q", "-S", "-O", "-", objURL}},
		{"WgetForward", []string{"wget", "--no-config", "-q", "-S", "-O", "-", "-e", "use_proxy=yes", "-e", "http_proxy=" + proxy, fwdURL}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, got := runClient(t, tc.argv...)
			checkAnswer(t, h, got, body, "")
			t.Logf("%s: %d bytes from %s (%s)", strings.Join(tc.argv, " "), len(got), h.Get("X-Cdn-Server"), h.Get("X-Cdn-Policy"))
			picked = h.Get("X-Cdn-Server")
		})
	}
	if picked == "" {
		t.Fatal("no client got an answer")
	}
	// The forward-mode requests were routed by path: the decisions name
	// the host the clients asked for, which no resolver knows.
	if n := countDecisions(proxyStatus(t, proxy), func(d DecisionStatus) bool { return d.Host == "any-host.invalid" }); n != 2 {
		t.Errorf("%d decisions for host any-host.invalid, want 2 (curl and wget)", n)
	}

	t.Run("Concurrent200", func(t *testing.T) {
		pu, _ := url.Parse(proxy)
		reverse := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 200}}
		forward := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 200, Proxy: http.ProxyURL(pu)}}
		start := make(chan struct{})
		errs := make(chan error, 200)
		servers := sync.Map{}
		var wg sync.WaitGroup
		for i := 0; i < 200; i++ {
			c, u := reverse, objURL
			if i%2 == 1 {
				c, u = forward, fwdURL
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				resp, err := c.Get(u)
				if err != nil {
					errs <- err
					return
				}
				b, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				switch {
				case err != nil:
					errs <- fmt.Errorf("GET %s: read: %w", u, err)
				case resp.StatusCode != 200 || !bytes.Equal(b, body):
					errs <- fmt.Errorf("GET %s: status %d, %d bytes", u, resp.StatusCode, len(b))
				case resp.Header.Get("X-Cdn-Server") == "" || resp.Header.Get("X-Cdn-Policy") != "network":
					errs <- fmt.Errorf("GET %s: X-Cdn-Server %q, X-Cdn-Policy %q", u, resp.Header.Get("X-Cdn-Server"), resp.Header.Get("X-Cdn-Policy"))
				default:
					servers.Store(resp.Header.Get("X-Cdn-Server"), true)
				}
			}()
		}
		close(start)
		wg.Wait()
		close(errs)
		n := 0
		for err := range errs {
			if n < 5 {
				t.Error(err)
			}
			n++
		}
		if n > 0 {
			t.Fatalf("%d of 200 concurrent requests failed", n)
		}
	})

	t.Run("Failover", func(t *testing.T) {
		resp, _ := get(t, nil, objURL)
		picked = resp.Header.Get("X-Cdn-Server")
		before := retries(t, proxy)
		for _, s := range cl.Servers {
			if s.ID == picked {
				cl.Kill(s)
			}
		}
		for i, argv := range [][]string{
			{"curl", "-q", "-sS", "-i", objURL},
			{"curl", "-q", "-sS", "-i", "-x", proxy, fwdURL},
			{"wget", "--no-config", "-q", "-S", "-O", "-", objURL},
			{"curl", "-q", "-sS", "-i", objURL},
		} {
			h, got := runClient(t, argv...)
			checkAnswer(t, h, got, body, picked)
			t.Logf("after kill -9 %s: %s: %d bytes from %s", picked, strings.Join(argv, " "), len(got), h.Get("X-Cdn-Server"))
			if t.Failed() {
				t.Fatalf("request %d after killing %s failed", i+1, picked)
			}
		}
		// The proxy still ranked the dead server first (no probe ran since),
		// so the first request tried it, failed over and said so.
		if got := retries(t, proxy); got <= before {
			t.Errorf("retries_total %v after the kill, want more than %v", got, before)
		}
		st := proxyStatus(t, proxy)
		if n := countDecisions(st, func(d DecisionStatus) bool {
			if d.Status == 200 && d.Server != picked && slices.Contains(d.Tried, picked) {
				t.Logf("decision: %s %s tried %v: %s", d.Method, d.Path, d.Tried, d.Reason)
				return true
			}
			return false
		}); n == 0 {
			b, _ := json.MarshalIndent(st.Decisions[:min(5, len(st.Decisions))], "", "  ")
			t.Errorf("no decision tried %s and was answered by another server:\n%s", picked, b)
		}
	})
}

// checkAnswer checks a client's answer: 200, the object's bytes, and the
// proxy's headers; notFrom, if set, is a server that must not answer.
func checkAnswer(t *testing.T, h http.Header, got, want []byte, notFrom string) {
	t.Helper()
	if !bytes.Equal(got, want) {
		t.Errorf("body: %d bytes, want the %d uploaded", len(got), len(want))
	}
	srv := h.Get("X-Cdn-Server")
	if !regexp.MustCompile(`^s[123]$`).MatchString(srv) || srv == notFrom {
		t.Errorf("X-Cdn-Server %q, want one of s1..s3 other than %q", srv, notFrom)
	}
	if got := h.Get("X-Cdn-Policy"); got != "network" {
		t.Errorf("X-Cdn-Policy %q, want network", got)
	}
	if got := h.Get("Content-Length"); got != strconv.Itoa(len(want)) {
		t.Errorf("Content-Length %q, want %d", got, len(want))
	}
}

// runClient runs curl or wget with an environment of its own (no proxy
// variables, no rc files) and returns the answer's headers and body: curl
// -i writes both to stdout, wget -S the headers to stderr.
func runClient(t *testing.T, argv ...string) (http.Header, []byte) {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(argv, " "), err, stderr.Bytes())
	}
	if argv[0] == "curl" {
		resp, err := http.ReadResponse(bufio.NewReader(&stdout), nil)
		if err != nil {
			t.Fatalf("%s: %v\n%q", strings.Join(argv, " "), err, stdout.Bytes())
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s: status %d, %v", strings.Join(argv, " "), resp.StatusCode, err)
		}
		return resp.Header, b
	}
	h := http.Header{}
	for _, line := range strings.Split(stderr.String(), "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), ":"); ok && strings.HasPrefix(line, "  ") {
			h.Add(k, strings.TrimSpace(v))
		}
	}
	if !strings.Contains(stderr.String(), " 200 OK") {
		t.Fatalf("%s: no 200 in\n%s", strings.Join(argv, " "), stderr.Bytes())
	}
	return h, stdout.Bytes()
}

// startProxy runs cmd/proxy on a free loopback port and waits until it
// knows a server.
func startProxy(t *testing.T, args ...string) string {
	t.Helper()
	return fixtures.StartProgram(t, "proxy", "/_proxy/healthz", args...)
}

func putObject(t *testing.T, url string, body []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPut, url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("PUT %s: %v", url, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT %s: status %d", url, resp.StatusCode)
	}
}

// peerIDs is how many peers the server at base lists with an id.
func peerIDs(base string) int {
	resp, err := http.Get(base + "/v1/peers")
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	var pl struct {
		Peers []struct {
			ID string `json:"id"`
		} `json:"peers"`
	}
	if json.NewDecoder(resp.Body).Decode(&pl) != nil {
		return 0
	}
	n := 0
	for _, p := range pl.Peers {
		if p.ID != "" {
			n++
		}
	}
	return n
}

func proxyStatus(t *testing.T, proxy string) StatusResponse {
	t.Helper()
	resp, b := get(t, nil, proxy+"/_proxy/status")
	var st StatusResponse
	if err := json.Unmarshal(b, &st); err != nil || resp.StatusCode != 200 {
		t.Fatalf("status: %d, %v", resp.StatusCode, err)
	}
	return st
}

func countDecisions(st StatusResponse, match func(DecisionStatus) bool) int {
	n := 0
	for _, d := range st.Decisions {
		if match(d) {
			n++
		}
	}
	return n
}

// retries reads metacdn_proxy_retries_total from the proxy's metrics.
func retries(t *testing.T, proxy string) float64 {
	t.Helper()
	_, b := get(t, nil, proxy+"/_proxy/metrics")
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "metacdn_proxy_retries_total "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("retries_total %q: %v", v, err)
			}
			return f
		}
	}
	t.Fatalf("no metacdn_proxy_retries_total in\n%s", b)
	return 0
}
