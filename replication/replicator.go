package replication

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"metacdn/storage"
)

// Store is what replication needs from a node's database.
type Store interface {
	NodeID() string
	Heads() (map[string]uint64, error)
	ReadLog(origin string, after uint64, limit int) ([]storage.LogEntry, error)
	Apply(e storage.LogEntry) (changed bool, err error)
	ApplyBatch(entries []storage.LogEntry) (done int, err error)
	Skip(e storage.LogEntry) error
	Get(key string) (storage.Object, error)
	HasBlob(sha string) (bool, error)
	PutBlob(ctx context.Context, r io.Reader, sha string) error
	OpenBlob(sha string) (*storage.BlobReader, error)
	Peers() ([]storage.Peer, error)
	PutPeer(p storage.Peer) error
}

var _ Store = (*storage.DB)(nil)

// Replicator is the replication side of one server. New builds it, Start
// runs its loops, Stop ends them; its handlers may serve before Start.
type Replicator struct {
	db    Store
	cfg   Config
	log   *slog.Logger
	met   *metrics
	clock hlc
	hc    *http.Client
	// pullSem lets one pull run at a time: pulls from different peers
	// return mostly the same entries, so running them one after another
	// fetches each blob once.
	pullSem chan struct{}
	hbWake  chan struct{}

	mu      sync.Mutex
	self    storage.Peer
	members map[string]*member      // every other server by id, tombstones included
	pending map[string]*pendingPeer // servers known only by URL, by URL
	ctx     context.Context         // the loops' context; nil before Start
	cancel  context.CancelFunc
	stopped bool
	wg      sync.WaitGroup

	fetchMu sync.Mutex
	fetches map[string]*fetchCall
}

// New builds a Replicator over db. It loads the membership table, records
// this server's own row and returns without starting loops.
func New(db Store, cfg Config) (*Replicator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	cfg.URL = strings.TrimRight(cfg.URL, "/")
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = cfg.ClientTLS
	tr.MaxIdleConnsPerHost = 32
	tr.DialContext = (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	r := &Replicator{
		db:      db,
		cfg:     cfg,
		log:     log,
		met:     newMetrics(cfg.Registerer),
		clock:   hlc{now: cfg.Clock},
		hc:      &http.Client{Transport: tr},
		pullSem: make(chan struct{}, 1),
		hbWake:  make(chan struct{}, 1),
		members: make(map[string]*member),
		pending: make(map[string]*pendingPeer),
		fetches: make(map[string]*fetchCall),
	}
	if err := r.loadMembers(); err != nil {
		return nil, err
	}
	return r, nil
}

// Start starts the heartbeat loop and one push and one pull loop per peer.
// The first pulls run at once, so a server that missed writes, or starts
// empty, catches up from its peers. Start returns at once.
func (r *Replicator) Start(ctx context.Context) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ctx != nil || r.stopped {
		return
	}
	r.ctx, r.cancel = context.WithCancel(ctx)
	for _, m := range r.members {
		r.startLoopsLocked(m)
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		r.heartbeatLoop(r.ctx)
	}()
}

// Stop stops the loops and waits for them. Calls in flight are cancelled.
func (r *Replicator) Stop() {
	r.mu.Lock()
	r.stopped = true
	if r.cancel != nil {
		r.cancel()
	}
	r.mu.Unlock()
	r.wg.Wait()
	r.hc.CloseIdleConnections()
}

// Notify tells the replicator that a local commit appended to the log; it
// wakes every push loop and never blocks.
func (r *Replicator) Notify() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range r.members {
		wake(m.pushWake)
	}
}

// ID is this server's id.
func (r *Replicator) ID() string { return r.cfg.ID }

func wake(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// startLoopsLocked starts a live member's loops once Start has run.
func (r *Replicator) startLoopsLocked(m *member) {
	if r.ctx == nil || r.stopped || m.stop != nil || m.row.Removed {
		return
	}
	ctx, cancel := context.WithCancel(r.ctx)
	m.stop = cancel
	m.loopCtx = ctx
	m.callCtx, m.callCancel = context.WithCancel(ctx)
	r.wg.Add(2)
	go func() {
		defer r.wg.Done()
		r.pushLoop(ctx, m)
	}()
	go func() {
		defer r.wg.Done()
		r.pullLoop(ctx, m)
	}()
}

func (r *Replicator) stopLoopsLocked(m *member) {
	if m.stop != nil {
		m.stop()
		m.stop = nil
	}
}

// callContext is the context a loop's calls to m derive from.
func (r *Replicator) callContext(ctx context.Context, m *member) context.Context {
	r.mu.Lock()
	defer r.mu.Unlock()
	if m.callCtx == nil {
		return ctx
	}
	return m.callCtx
}

// abandonCallsLocked cancels m's calls in flight and gives later calls a
// fresh context.
func (r *Replicator) abandonCallsLocked(m *member) {
	if m.callCancel == nil || m.callCtx.Err() != nil {
		return
	}
	m.callCancel()
	m.callCtx, m.callCancel = context.WithCancel(m.loopCtx)
}

// sleep waits d, or less if cut is signalled, or until ctx is done; it
// reports whether ctx is still live.
func sleep(ctx context.Context, d time.Duration, cut <-chan struct{}) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
	case <-cut:
	}
	return true
}

// backoff doubles the wait after each failure up to maxBackoff.
type backoff struct {
	base, cur time.Duration
}

func (b *backoff) next() time.Duration {
	if b.cur == 0 {
		b.cur = b.base
	} else {
		b.cur = min(2*b.cur, maxBackoff)
	}
	return b.cur
}

func (b *backoff) reset() { b.cur = 0 }
