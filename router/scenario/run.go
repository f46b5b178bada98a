package scenario

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"metacdn/router"
)

// DefaultSettle is how long a check may take to reach the expected server.
const DefaultSettle = 20 * time.Second

// Policies are the policies a check may name, in table order.
var Policies = []router.Policy{router.PolicyNetwork, router.PolicyPrice, router.PolicyCombined}

// Cluster is what Run plays the scenarios against: servers already
// running behind the Lab's links, and a price service.
type Cluster struct {
	Nodes      []Node // in the order of every scenario's servers
	PriceInfo  string // base URL of the price service
	AdminToken string // of the price service
	Lab        *Lab
}

// Node is one running server.
type Node struct {
	ID, Provider string
	URL          string // what it advertises: its Lab link
	Direct       string // its own base URL, bypassing the link
}

// Options tune Run; the zero value is fine.
type Options struct {
	Settle time.Duration // zero means DefaultSettle
	// Progress, if set, gets each Result as soon as it is known.
	Progress func(Result)
}

// Result is the outcome of one check of one scenario.
type Result struct {
	Scenario string
	Weight   float64
	Object   string
	Servers  []Server
	Prices   map[string]Price
	Picks    []Pick // one per policy the check names, in Policies order
}

// OK reports whether every policy picked the expected server.
func (r Result) OK() bool {
	for _, p := range r.Picks {
		if !p.OK {
			return false
		}
	}
	return len(r.Picks) > 0
}

// Pick is what one policy did.
type Pick struct {
	Policy router.Policy
	Want   string
	Got    string // the server that answered; "error" if the request failed
	OK     bool
	// Detail says why a pick is not OK: the answers seen and the proxy's
	// status (servers, figures, scores, last decisions).
	Detail string
}

// Run uploads Objects to the first node, waits until every node has them,
// starts one proxy and plays scs in order through it. A check whose
// policy picked another server is a Result that is not OK; an error is
// returned only when the run could not go on (a scenario that does not
// fit the cluster, a service that refused a setting, ctx ended).
func Run(ctx context.Context, c Cluster, scs []Scenario, opt Options) ([]Result, error) {
	if opt.Settle <= 0 {
		opt.Settle = DefaultSettle
	}
	r := &runner{c: c, opt: opt, client: &http.Client{Timeout: 30 * time.Second}}
	if err := r.fits(scs); err != nil {
		return nil, err
	}
	if err := r.upload(ctx); err != nil {
		return nil, err
	}
	stop, err := r.startProxy(ctx)
	if err != nil {
		return nil, err
	}
	defer stop()

	var out []Result
	for _, sc := range scs {
		for _, s := range sc.Servers {
			if err := c.Lab.Shape(ctx, s.ID, s.LatencyMs, s.BandwidthKBps); err != nil {
				return out, fmt.Errorf("scenario %s: %w", sc.Name, err)
			}
		}
		for provider, p := range sc.Prices {
			if err := r.putPrice(ctx, provider, p); err != nil {
				return out, fmt.Errorf("scenario %s: %w", sc.Name, err)
			}
		}
		for _, ck := range sc.Checks {
			res := Result{Scenario: sc.Name, Weight: sc.Weight, Object: ck.Object, Servers: sc.Servers, Prices: sc.Prices}
			for _, policy := range Policies {
				want, ok := ck.Expect[string(policy)]
				if !ok {
					continue
				}
				if err := r.setPolicy(ctx, policy, sc.Weight); err != nil {
					return out, fmt.Errorf("scenario %s: %w", sc.Name, err)
				}
				pk, err := r.settle(ctx, ck.Object, want)
				if err != nil {
					return out, fmt.Errorf("scenario %s: %w", sc.Name, err)
				}
				pk.Policy = policy
				res.Picks = append(res.Picks, pk)
			}
			out = append(out, res)
			if opt.Progress != nil {
				opt.Progress(res)
			}
		}
	}
	return out, nil
}

type runner struct {
	c      Cluster
	opt    Options
	client *http.Client
	proxy  string // base URL of the proxy under test
}

func (r *runner) fits(scs []Scenario) error {
	if len(scs) == 0 {
		return ErrNoScenarios
	}
	for _, sc := range scs {
		if len(sc.Servers) != len(r.c.Nodes) {
			return fmt.Errorf("scenario %s: %w: %d servers, the cluster has %d", sc.Name, ErrMismatch, len(sc.Servers), len(r.c.Nodes))
		}
		for i, s := range sc.Servers {
			if n := r.c.Nodes[i]; s.ID != n.ID || s.Provider != n.Provider {
				return fmt.Errorf("scenario %s: %w: server %d is %s/%s, the cluster has %s/%s",
					sc.Name, ErrMismatch, i, s.ID, s.Provider, n.ID, n.Provider)
			}
		}
	}
	return nil
}

// upload puts every object on the first node, directly, before any toxic
// slows things down, and waits until replication brought it to all.
func (r *runner) upload(ctx context.Context) error {
	for name, size := range Objects {
		body := bytes.Repeat([]byte{name[0]}, size)
		req, err := http.NewRequestWithContext(ctx, http.MethodPut, r.c.Nodes[0].Direct+"/v1/objects/"+name, bytes.NewReader(body))
		if err != nil {
			return fmt.Errorf("upload %s: %w", name, err)
		}
		resp, err := r.client.Do(req)
		if err != nil {
			return fmt.Errorf("upload %s: %w", name, err)
		}
		drain(resp)
		if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
			return fmt.Errorf("upload %s: status %d", name, resp.StatusCode)
		}
		for _, n := range r.c.Nodes {
			url := n.Direct + "/v1/objects/" + name
			err := poll(ctx, 30*time.Second, func() bool {
				resp, err := r.get(ctx, url)
				if err != nil {
					return false
				}
				m, _ := io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				return resp.StatusCode == http.StatusOK && int(m) == size
			})
			if err != nil {
				return fmt.Errorf("replicate %s to %s: %w", name, n.ID, err)
			}
		}
	}
	return nil
}

// startProxy runs the router on 127.0.0.1 with intervals short enough for
// a scenario to settle in seconds; the throughput TTL of 2 s is what
// pipe-restored waits for.
func (r *runner) startProxy(ctx context.Context) (stop func(), err error) {
	cfg := router.DefaultConfig()
	cfg.Seeds = []string{r.c.Nodes[0].URL}
	cfg.PriceInfo = r.c.PriceInfo
	cfg.ProbeInterval = 50 * time.Millisecond
	cfg.PriceInterval = 100 * time.Millisecond
	cfg.DiscoveryInterval = time.Second
	cfg.ThroughputTTL = 2 * time.Second
	rt, err := router.New(cfg, nil)
	if err != nil {
		return nil, fmt.Errorf("proxy: %w", err)
	}
	if err := rt.Start(ctx); err != nil {
		rt.Close()
		return nil, fmt.Errorf("proxy: %w", err)
	}
	// Every server must be reached through its link, or the toxics would
	// shape nothing.
	known := map[string]string{}
	for _, s := range rt.Servers() {
		known[s.ID] = s.URL
	}
	for _, n := range r.c.Nodes {
		if known[n.ID] != n.URL {
			rt.Close()
			return nil, fmt.Errorf("proxy: %w: it knows %s as %q, want its link %s", ErrMismatch, n.ID, known[n.ID], n.URL)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		rt.Close()
		return nil, fmt.Errorf("proxy: listen: %w", err)
	}
	srv := router.NewHTTPServer(rt.Handler(), nil)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	r.proxy = "http://" + ln.Addr().String()
	return func() {
		_ = srv.Close()
		<-done
		rt.Close()
		r.client.CloseIdleConnections()
	}, nil
}

// settle sends GETs for object through the proxy until want answers
// settleStreak in a row, then takes five more, of which four must come
// from want. The streak keeps a pick made while the smoothed figures were
// still converging, right after the links changed, from counting as
// settled.
func (r *runner) settle(ctx context.Context, object, want string) (Pick, error) {
	url := r.proxy + "/v1/objects/" + object
	pk := Pick{Want: want}
	deadline := time.Now().Add(r.opt.Settle)
	var seen []string
	streak := 0
	for {
		got, err := r.fetchServer(ctx, url)
		if err != nil {
			if ctx.Err() != nil {
				return pk, ctx.Err()
			}
			pk.Got, pk.Detail = "error", err.Error()
			return pk, nil
		}
		seen = append(seen, got)
		if streak = streak + 1; got != want {
			streak = 0
		}
		if streak >= settleStreak {
			break
		}
		if got != want && time.Now().After(deadline) {
			pk.Got = got
			pk.Detail = fmt.Sprintf("GET %s: not from %s after %s (last answers %s)\n%s",
				url, want, r.opt.Settle, last(seen, 10), r.status(ctx))
			return pk, nil
		}
		if err := sleep(ctx, 50*time.Millisecond); err != nil {
			return pk, err
		}
	}
	var got []string
	count := map[string]int{}
	for i := 0; i < 5; i++ {
		g, err := r.fetchServer(ctx, url)
		if err != nil {
			if ctx.Err() != nil {
				return pk, ctx.Err()
			}
			g = "error"
		}
		got = append(got, g)
		count[g]++
	}
	pk.OK = count[want] >= 4
	pk.Got = want
	for g, n := range count {
		if n > count[pk.Got] {
			pk.Got = g
		}
	}
	if !pk.OK {
		pk.Detail = fmt.Sprintf("GET %s: %v after settling on %s\n%s", url, got, want, r.status(ctx))
	}
	return pk, nil
}

// settleStreak is how many answers in a row must come from the expected
// server before a pick is sampled.
const settleStreak = 5

func last(s []string, n int) []string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// fetchServer GETs url and returns the server that answered.
func (r *runner) fetchServer(ctx context.Context, url string) (string, error) {
	resp, err := r.get(ctx, url)
	if err != nil {
		return "", fmt.Errorf("GET %s: %w", url, err)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil {
		return "", fmt.Errorf("GET %s: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: status %d", url, resp.StatusCode)
	}
	return resp.Header.Get("X-Cdn-Server"), nil
}

// status is the proxy's /_proxy/status with the last five decisions, for
// a failed check's detail.
func (r *runner) status(ctx context.Context) string {
	resp, err := r.get(ctx, r.proxy+"/_proxy/status")
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	var st router.StatusResponse
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return err.Error()
	}
	if len(st.Decisions) > 5 {
		st.Decisions = st.Decisions[:5]
	}
	b, _ := json.MarshalIndent(st, "", "  ")
	return string(b)
}

func (r *runner) setPolicy(ctx context.Context, p router.Policy, w float64) error {
	url := fmt.Sprintf("%s/_proxy/policy?policy=%s&weight=%g", r.proxy, p, w)
	return r.do(ctx, http.MethodPut, url, "", nil, http.StatusOK)
}

func (r *runner) putPrice(ctx context.Context, provider string, p Price) error {
	body := fmt.Sprintf(`{"egress_usd_per_gb":%g,"server_usd_per_hour":%g}`, p.Egress, p.Hour)
	return r.do(ctx, http.MethodPut, r.c.PriceInfo+"/v1/prices/"+provider, body,
		http.Header{"Authorization": {"Bearer " + r.c.AdminToken}, "Content-Type": {"application/json"}},
		http.StatusOK, http.StatusCreated)
}

func (r *runner) do(ctx context.Context, method, url, body string, h http.Header, ok ...int) error {
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, url, err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, url, err)
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	for _, code := range ok {
		if resp.StatusCode == code {
			return nil
		}
	}
	return fmt.Errorf("%s %s: status %d: %s", method, url, resp.StatusCode, bytes.TrimSpace(b))
}

func (r *runner) get(ctx context.Context, url string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	return r.client.Do(req)
}

func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

// errTimeout is returned by poll when cond did not hold in time.
var errTimeout = errors.New("timed out")

// poll checks cond every 20 ms until it holds, ctx ends or timeout passes.
func poll(ctx context.Context, timeout time.Duration, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("%w after %s", errTimeout, timeout)
		}
		if err := sleep(ctx, 20*time.Millisecond); err != nil {
			return err
		}
	}
	return nil
}

// sleep waits d between two polls, or less if ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
