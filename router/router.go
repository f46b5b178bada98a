package router

import (
	"context"
	"hash/maphash"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Router routes requests to CDN servers. New builds it, Start begins
// discovery, probing and price polling, Handler serves, Close stops the
// loops and waits for them.
type Router struct {
	cfg       Config
	log       *slog.Logger
	transport *http.Transport
	dialer    *net.Dialer
	client    *http.Client // discovery, probes and prices; bounded by timeouts

	table  atomic.Pointer[table]
	prices atomic.Pointer[priceTable]
	pol    atomic.Pointer[policyState]

	// mu serialises writers of table and prices; the request path never
	// takes it.
	mu sync.Mutex

	decisions decisionLog
	sizes     sizeCache
	met       *metrics
	admin     http.Handler

	started atomic.Bool
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	now     func() time.Time
}

// policyState is the policy in force, swapped whole by SetPolicy.
type policyState struct {
	policy Policy
	weight float64
	header []string // ready-made X-Cdn-Policy value
	line   []byte   // and the whole line, for the lean front
}

// New checks cfg and builds a Router that knows cfg.Static servers. It
// starts nothing: call Start for discovery and measurement. A nil logger
// keeps it quiet.
func New(cfg Config, logger *slog.Logger) (*Router, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	tc, err := cfg.tlsConfig()
	if err != nil {
		return nil, err
	}
	rt := &Router{cfg: cfg, log: logger, now: time.Now}
	rt.sizes.seed = maphash.MakeSeed()
	rt.dialer = &net.Dialer{Timeout: cfg.DialTimeout, KeepAlive: 30 * time.Second}
	rt.transport = &http.Transport{
		Proxy:                 nil, // never chain through an environment proxy
		DialContext:           rt.dialer.DialContext,
		TLSClientConfig:       tc,
		TLSHandshakeTimeout:   cfg.DialTimeout,
		MaxIdleConns:          cfg.MaxIdlePerHost * 4,
		MaxIdleConnsPerHost:   cfg.MaxIdlePerHost,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: cfg.HeaderTimeout,
		ExpectContinueTimeout: time.Second,
		// The client's Accept-Encoding goes through untouched and bodies
		// are passed on as the server sent them.
		DisableCompression: true,
		WriteBufferSize:    64 << 10,
		ReadBufferSize:     64 << 10,
	}
	rt.client = &http.Client{Transport: rt.transport, Timeout: cfg.ProbeTimeout * 2}
	rt.met = newMetrics(rt)
	rt.SetPolicy(cfg.Policy, cfg.Weight)
	rt.prices.Store(&priceTable{rows: map[string]*Price{}})
	rt.table.Store(newTable(nil))
	if len(cfg.Static) > 0 {
		rt.mu.Lock()
		rt.applyPeers(nil)
		rt.mu.Unlock()
	}
	rt.admin = rt.newAdminRouter()
	return rt, nil
}

// SetPolicy changes the policy (and combined weight) for later requests.
func (rt *Router) SetPolicy(p Policy, weight float64) {
	rt.pol.Store(&policyState{policy: p, weight: weight, header: []string{string(p)}, line: headerLine("X-Cdn-Policy", string(p))})
}

// Policy returns the policy in force and its combined weight.
func (rt *Router) Policy() (Policy, float64) {
	ps := rt.pol.Load()
	return ps.policy, ps.weight
}

// Start runs one round of discovery, price polling and probing, so that
// the first requests are routed on real figures, then keeps them running
// in the background until Close. Failures of that first round are logged,
// not returned: the loops keep trying.
func (rt *Router) Start(ctx context.Context) error {
	if !rt.started.CompareAndSwap(false, true) {
		return ErrStarted
	}
	ctx, rt.cancel = context.WithCancel(ctx)
	if err := rt.Discover(ctx); err != nil {
		rt.log.Warn("discovery", "err", err)
	}
	if rt.cfg.PriceInfo != "" {
		if err := rt.PollPrices(ctx); err != nil {
			rt.log.Warn("price poll", "err", err)
		}
	}
	rt.ProbeAll(ctx)
	rt.wg.Add(3)
	go func() { defer rt.wg.Done(); rt.discoveryLoop(ctx) }()
	go func() { defer rt.wg.Done(); rt.priceLoop(ctx) }()
	go func() { defer rt.wg.Done(); rt.probeLoop(ctx) }()
	return nil
}

// Close stops the background loops, waits for them and drops idle
// connections. Requests in flight are not cut; stop the http.Server first.
func (rt *Router) Close() error {
	if rt.cancel != nil {
		rt.cancel()
	}
	rt.wg.Wait()
	rt.transport.CloseIdleConnections()
	for _, s := range rt.table.Load().servers {
		if s.fast != nil {
			s.fast.close()
		}
	}
	return nil
}

// Handler is the proxy: /_proxy/* is the proxy's own API, every other
// path is routed to a CDN server.
func (rt *Router) Handler() http.Handler { return rt }

// Servers returns the known servers, sorted by id.
func (rt *Router) Servers() []*Server {
	t := rt.table.Load()
	return append([]*Server(nil), t.servers...)
}
