package replication_test

// Tests with real server processes (fixtures.Cluster): writes spread, a
// server killed with SIGKILL catches up, a kill loop under load loses no
// acknowledged upload, a partition heals to one winner per key, a new
// server bootstraps, deletes stay deleted, and mutual TLS keeps strangers
// out.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"metacdn/fixtures"
	"metacdn/replication"
)

func TestMain(m *testing.M) { os.Exit(fixtures.RunTests(m)) }

const (
	clusterHeartbeat = 100 * time.Millisecond
	adminToken       = "test-admin-token"
	convergeTimeout  = 30 * time.Second
)

type objState struct {
	SHA256  string `json:"sha256"`
	Version uint64 `json:"version"`
	Origin  string `json:"origin"`
}

func startCluster(t *testing.T, n int, opts fixtures.ClusterOptions) *fixtures.Cluster {
	t.Helper()
	if opts.Heartbeat == 0 {
		opts.Heartbeat = clusterHeartbeat
	}
	opts.AdminToken = adminToken
	return fixtures.StartCluster(t, n, opts)
}

// putObject uploads body under key with PUT and returns the digest the
// server acknowledged.
func putObject(ctx context.Context, c *http.Client, base, key string, body []byte) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, base+"/v1/objects/"+key, bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	res, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusCreated {
		return "", fmt.Errorf("PUT %s: %d %s", key, res.StatusCode, b)
	}
	var o objState
	if err := json.Unmarshal(b, &o); err != nil {
		return "", fmt.Errorf("PUT %s: %v", key, err)
	}
	return o.SHA256, nil
}

func mustPut(t *testing.T, c *http.Client, base, key string, body []byte) string {
	t.Helper()
	sha, err := putObject(context.Background(), c, base, key, body)
	if err != nil {
		t.Fatal(err)
	}
	return sha
}

func mustDelete(t *testing.T, c *http.Client, base, key string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodDelete, base+"/v1/objects/"+key, nil)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("DELETE %s: %d", key, res.StatusCode)
	}
}

// listAll returns every live object of a server by key.
func listAll(c *http.Client, base string) (map[string]objState, error) {
	out := map[string]objState{}
	after := ""
	for {
		res, err := c.Get(base + "/v1/objects?limit=1000&after=" + after)
		if err != nil {
			return nil, err
		}
		var page struct {
			Objects []struct {
				Key string `json:"key"`
				objState
			} `json:"objects"`
			Next string `json:"next"`
		}
		err = json.NewDecoder(res.Body).Decode(&page)
		res.Body.Close()
		if err != nil {
			return nil, err
		}
		for _, o := range page.Objects {
			out[o.Key] = o.objState
		}
		if page.Next == "" {
			return out, nil
		}
		after = page.Next
	}
}

// waitSame polls until every server lists the same objects at the same
// versions, and returns that listing.
func waitSame(t *testing.T, c *fixtures.Cluster, timeout time.Duration) map[string]objState {
	t.Helper()
	hc := c.Client()
	deadline := time.Now().Add(timeout)
	var why string
	for {
		var first map[string]objState
		why = ""
		for _, s := range c.Servers {
			got, err := listAll(hc, s.Direct())
			if err != nil {
				why = fmt.Sprintf("%s: %v", s.ID, err)
				break
			}
			if first == nil {
				first = got
				continue
			}
			if d := diff(first, got); d != "" {
				why = fmt.Sprintf("%s vs %s: %s", c.Servers[0].ID, s.ID, d)
				break
			}
		}
		if why == "" {
			return first
		}
		if time.Now().After(deadline) {
			t.Fatalf("servers did not converge within %v: %s", timeout, why)
		}
		time.Sleep(50 * time.Millisecond) // polling interval
	}
}

func diff(a, b map[string]objState) string {
	if len(a) != len(b) {
		return fmt.Sprintf("%d objects vs %d", len(a), len(b))
	}
	for k, v := range a {
		if b[k] != v {
			return fmt.Sprintf("key %q: %+v vs %+v", k, v, b[k])
		}
	}
	return ""
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func content(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 42))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func TestCluster_WritesReachAll(t *testing.T) {
	for _, enc := range []string{"json", "protobuf"} {
		t.Run(enc, func(t *testing.T) {
			c := startCluster(t, 3, fixtures.ClusterOptions{Encoding: enc})
			hc := c.Client()
			want := map[string]string{}
			for i, s := range c.Servers {
				key := "from-" + s.ID
				body := content(uint64(i), 200<<10)
				want[key] = mustPut(t, hc, s.Direct(), key, body)
			}
			got := waitSame(t, c, convergeTimeout)
			for k, v := range want {
				if got[k].SHA256 != v {
					t.Fatalf("%s: %+v, want sha %s", k, got[k], v)
				}
			}
		})
	}
}

func TestCluster_KillRestart(t *testing.T) {
	c := startCluster(t, 3, fixtures.ClusterOptions{})
	hc := c.Client()
	s1, s2, s3 := c.Servers[0], c.Servers[1], c.Servers[2]
	mustPut(t, hc, s1.Direct(), "early", []byte("early"))
	waitSame(t, c, convergeTimeout)

	c.Kill(s3)
	for i := range 30 {
		s := []*fixtures.Server{s1, s2}[i%2]
		mustPut(t, hc, s.Direct(), fmt.Sprintf("while-down/%d", i), content(uint64(i), 50<<10))
	}
	mustDelete(t, hc, s1.Direct(), "early")
	c.Restart(s3)
	got := waitSame(t, c, convergeTimeout)
	if len(got) != 30 {
		t.Fatalf("%d objects, want 30", len(got))
	}
}

// TestCluster_KillLoop kills random servers with SIGKILL over and over
// while clients upload; no acknowledged upload may be lost.
func TestCluster_KillLoop(t *testing.T) {
	const kills = 20
	c := startCluster(t, 3, fixtures.ClusterOptions{})
	hc := &http.Client{Timeout: 10 * time.Second}

	var (
		mu    sync.Mutex
		acked = map[string]string{}
		fails atomic.Int64
	)
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for cl := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(cl), 7))
			for i := 0; ctx.Err() == nil; i++ {
				s := c.Servers[r.IntN(len(c.Servers))]
				key := fmt.Sprintf("c%d/%d", cl, i)
				body := content(uint64(cl<<32|i), 1<<10+r.IntN(64<<10))
				got, err := putObject(ctx, hc, s.Direct(), key, body)
				if err != nil {
					fails.Add(1)
					continue
				}
				if got != sha(body) {
					t.Errorf("%s acknowledged %s with digest %s", key, sha(body), got)
				}
				mu.Lock()
				acked[key] = got
				mu.Unlock()
			}
		}()
	}
	r := rand.New(rand.NewPCG(99, 1))
	for range kills {
		s := c.Servers[r.IntN(len(c.Servers))]
		c.Kill(s)
		// Let the others take writes while it is down.
		time.Sleep(time.Duration(50+r.IntN(200)) * time.Millisecond)
		c.Restart(s)
	}
	stop()
	wg.Wait()
	got := waitSame(t, c, convergeTimeout)
	missing := 0
	for k, v := range acked {
		if got[k].SHA256 != v {
			missing++
			if missing <= 5 {
				t.Errorf("acknowledged %s (%s) is %+v after the kill loop", k, v, got[k])
			}
		}
	}
	if missing > 0 {
		t.Fatalf("%d of %d acknowledged uploads missing", missing, len(acked))
	}
	if len(acked) < 50 {
		t.Fatalf("only %d uploads were acknowledged (%d failed): the load was too light to mean much", len(acked), fails.Load())
	}
	t.Logf("%d kills, %d uploads acknowledged, %d refused during kills", kills, len(acked), fails.Load())
}

// TestCluster_Partition cuts every server off from the others (each
// advertises a toxiproxy address, and the proxies go down or drop every
// byte), writes the same keys on every side, heals, and expects one winner
// per key: the write with the largest (version, origin).
func TestCluster_Partition(t *testing.T) {
	tests := []struct {
		name      string
		cut, heal func(t *testing.T, p *toxiproxy.Proxy)
	}{
		{
			// Connections are refused and those open are closed.
			name: "Disabled",
			cut:  func(t *testing.T, p *toxiproxy.Proxy) { p.Stop() },
			heal: func(t *testing.T, p *toxiproxy.Proxy) {
				if err := p.Start(); err != nil {
					t.Fatalf("heal: %v", err)
				}
			},
		},
		{
			// Connections open but every byte is dropped, as when packets
			// are lost: calls hang until their timeouts.
			name: "Timeout",
			cut: func(t *testing.T, p *toxiproxy.Proxy) {
				for _, stream := range []string{"upstream", "downstream"} {
					js := `{"name":"cut-` + stream + `","type":"timeout","stream":"` + stream + `","toxicity":1,"attributes":{"timeout":0}}`
					if _, err := p.Toxics.AddToxicJson(strings.NewReader(js)); err != nil {
						t.Fatalf("toxic: %v", err)
					}
				}
			},
			heal: func(t *testing.T, p *toxiproxy.Proxy) {
				for _, stream := range []string{"upstream", "downstream"} {
					if err := p.Toxics.RemoveToxic(context.Background(), "cut-"+stream); err != nil {
						t.Fatalf("heal: %v", err)
					}
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			testPartition(t, tc.cut, tc.heal)
		})
	}
}

func testPartition(t *testing.T, cut, heal func(*testing.T, *toxiproxy.Proxy)) {
	tp := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), zerolog.Nop())
	var proxies []*toxiproxy.Proxy
	c := startCluster(t, 3, fixtures.ClusterOptions{
		Advertise: func(id, listen string) string {
			p := toxiproxy.NewProxy(tp, id, "127.0.0.1:0", listen)
			if err := p.Start(); err != nil {
				t.Fatalf("proxy for %s: %v", id, err)
			}
			proxies = append(proxies, p)
			return "http://" + p.Listen
		},
	})
	t.Cleanup(func() {
		for _, p := range proxies {
			p.Stop()
		}
	})
	hc := c.Client()
	mustPut(t, hc, c.Servers[0].Direct(), "shared", []byte("before the partition"))
	waitSame(t, c, convergeTimeout)

	for _, p := range proxies {
		cut(t, p)
	}
	// Every server sees the others dead: the partition holds.
	for _, s := range c.Servers {
		deadline := time.Now().Add(convergeTimeout)
		for {
			dead := 0
			for _, p := range peersOf(t, hc, s.Direct()).Peers {
				if p.State == replication.StateDead {
					dead++
				}
			}
			if dead == 2 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s does not see its peers dead: %+v", s.ID, peersOf(t, hc, s.Direct()))
			}
			time.Sleep(50 * time.Millisecond) // polling interval
		}
	}
	var all []objState
	for i, s := range c.Servers {
		for k := range 5 {
			mustPut(t, hc, s.Direct(), fmt.Sprintf("contested/%d", k), []byte(fmt.Sprintf("%s wrote %d", s.ID, k)))
		}
		mustPut(t, hc, s.Direct(), "only/"+s.ID, content(uint64(i), 10<<10))
		if i == 1 {
			mustDelete(t, hc, s.Direct(), "shared")
		}
	}
	// Each side holds its own version of the contested keys.
	for _, s := range c.Servers {
		got, err := listAll(hc, s.Direct())
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := got["only/"+c.Servers[(indexOf(c, s)+1)%3].ID]; ok {
			t.Fatalf("%s got another side's write during the partition", s.ID)
		}
		for k := range 5 {
			all = append(all, got[fmt.Sprintf("contested/%d", k)])
		}
	}
	for _, p := range proxies {
		heal(t, p)
	}
	got := waitSame(t, c, convergeTimeout)
	for k := range 5 {
		key := fmt.Sprintf("contested/%d", k)
		var best objState
		for i := k; i < len(all); i += 5 {
			o := all[i]
			if o.Version > best.Version || (o.Version == best.Version && o.Origin > best.Origin) {
				best = o
			}
		}
		if got[key] != best {
			t.Fatalf("%s converged to %+v, want the last writer %+v", key, got[key], best)
		}
	}
	if _, ok := got["shared"]; ok {
		t.Fatalf("the delete made during the partition was lost")
	}
	if len(got) != 8 {
		t.Fatalf("%d objects after healing, want 8", len(got))
	}
}

func indexOf(c *fixtures.Cluster, s *fixtures.Server) int {
	for i, o := range c.Servers {
		if o == s {
			return i
		}
	}
	return -1
}

type peerList struct {
	Self  struct{ ID string } `json:"self"`
	Peers []struct {
		ID    string `json:"id"`
		URL   string `json:"url"`
		State string `json:"state"`
	} `json:"peers"`
}

func peersOf(t *testing.T, hc *http.Client, base string) peerList {
	t.Helper()
	res, err := hc.Get(base + "/v1/peers")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var pl peerList
	if err := json.NewDecoder(res.Body).Decode(&pl); err != nil {
		t.Fatal(err)
	}
	return pl
}

func TestCluster_Bootstrap(t *testing.T) {
	c := startCluster(t, 2, fixtures.ClusterOptions{})
	hc := c.Client()
	for i := range 20 {
		mustPut(t, hc, c.Servers[i%2].Direct(), fmt.Sprintf("old/%d", i), content(uint64(i), 30<<10))
	}
	mustDelete(t, hc, c.Servers[0].Direct(), "old/0")
	s3 := c.AddServer(c.Servers[1].URL)
	got := waitSame(t, c, convergeTimeout)
	if len(got) != 19 {
		t.Fatalf("%d objects, want 19", len(got))
	}
	// s1 was never told of s3: it learns of it by gossip.
	deadline := time.Now().Add(convergeTimeout)
	for {
		alive := false
		for _, p := range peersOf(t, hc, c.Servers[0].Direct()).Peers {
			alive = alive || (p.ID == s3.ID && p.URL == s3.URL && p.State == replication.StateAlive)
		}
		if alive {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("s1 does not list s3 as alive: %+v", peersOf(t, hc, c.Servers[0].Direct()))
		}
		time.Sleep(50 * time.Millisecond) // polling interval
	}
	mustPut(t, hc, s3.Direct(), "new", []byte("written on the newcomer"))
	waitSame(t, c, convergeTimeout)
}

func TestCluster_DeleteStaysDeleted(t *testing.T) {
	c := startCluster(t, 3, fixtures.ClusterOptions{Encoding: "json"})
	hc := c.Client()
	mustPut(t, hc, c.Servers[0].Direct(), "doomed", []byte("v1"))
	mustPut(t, hc, c.Servers[1].Direct(), "kept", []byte("v1"))
	waitSame(t, c, convergeTimeout)
	mustDelete(t, hc, c.Servers[2].Direct(), "doomed")
	waitSame(t, c, convergeTimeout)
	for _, s := range c.Servers {
		c.Kill(s)
	}
	for _, s := range c.Servers {
		c.Restart(s)
	}
	got := waitSame(t, c, convergeTimeout)
	if _, ok := got["doomed"]; ok || len(got) != 1 {
		t.Fatalf("after restarts: %+v", got)
	}
	for _, s := range c.Servers {
		res, err := hc.Get(s.Direct() + "/v1/objects/doomed")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusNotFound {
			t.Fatalf("GET doomed on %s: %d, want 404", s.ID, res.StatusCode)
		}
	}
}

func TestCluster_TLS(t *testing.T) {
	dir := t.TempDir()
	if _, _, err := replication.MakeCerts(dir, []string{"s1", "s2", "s3"}); err != nil {
		t.Fatal(err)
	}
	otherDir := t.TempDir()
	if _, _, err := replication.MakeCerts(otherDir, []string{"s1"}); err != nil {
		t.Fatal(err)
	}
	c := startCluster(t, 3, fixtures.ClusterOptions{TLSDir: dir})
	hc := c.Client()
	for i, s := range c.Servers {
		mustPut(t, hc, s.Direct(), "tls/"+s.ID, content(uint64(i), 20<<10))
	}
	got := waitSame(t, c, convergeTimeout)
	if len(got) != 3 {
		t.Fatalf("%d objects over TLS, want 3", len(got))
	}

	s1 := c.Servers[0].Direct()
	cluster, err := fixtures.ClientTLS(dir, "s2")
	if err != nil {
		t.Fatal(err)
	}
	noCert := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: cluster.RootCAs}}}
	t.Run("PlainClientGetsObjects", func(t *testing.T) {
		res, err := noCert.Get(s1 + "/v1/objects/tls/s2")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET over HTTPS without a cert: %d", res.StatusCode)
		}
	})
	t.Run("NoCertNoSync", func(t *testing.T) {
		res, err := noCert.Post(s1+"/v1/replication/pull", "application/json", strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusForbidden || !bytes.Contains(b, []byte(`"error"`)) {
			t.Fatalf("pull without a cert: %d %s", res.StatusCode, b)
		}
	})
	t.Run("OtherCARefused", func(t *testing.T) {
		other, err := fixtures.ClientTLS(otherDir, "s1")
		if err != nil {
			t.Fatal(err)
		}
		other.RootCAs = cluster.RootCAs
		oc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: other}}
		res, err := oc.Post(s1+"/v1/replication/pull", "application/json", strings.NewReader("{}"))
		if err == nil {
			res.Body.Close()
			t.Fatalf("a client with another CA's cert got %d, want a failed handshake", res.StatusCode)
		}
		var ce *tls.CertificateVerificationError
		if !errors.As(err, &ce) && !strings.Contains(err.Error(), "tls") && !strings.Contains(err.Error(), "certificate") {
			t.Logf("handshake error: %v", err)
		}
	})
}
