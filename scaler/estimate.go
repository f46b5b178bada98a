package scaler

import (
	"container/list"
	"sync"
	"time"
)

// Sources of an Estimate.
const (
	SourceTCPInfo = "tcp_info" // the kernel's delivery rate for the client's connections
	SourceHistory = "history"  // bytes over time of past responses
	SourceNone    = "none"
)

// Estimate is the server's own view of a client's link.
type Estimate struct {
	BytesPerSec float64       // 0 when Source is SourceNone
	RTT         time.Duration // 0 when unknown
	Source      string        // SourceTCPInfo, SourceHistory or SourceNone
	Samples     int           // observations behind the figure
}

// Defaults of an Estimator.
const (
	// DefaultEstimatorSize bounds the clients remembered.
	DefaultEstimatorSize = 4096

	// DefaultAlpha weighs a new sample in the moving averages: recent
	// enough to follow a phone moving between cells, smooth enough to ride
	// out one slow response.
	DefaultAlpha = 0.3

	// MinObserveBytes is the smallest response Observe learns from: a
	// smaller one is over before TCP's window opens, so it measures round
	// trips, not bandwidth.
	MinObserveBytes = 16 << 10

	// DefaultMaxAge is how long a client's figures stay good without a new
	// observation: long enough to span a browsing session, short enough
	// that a phone back on Wi-Fi tomorrow is not still treated as on 3G.
	DefaultMaxAge = 30 * time.Minute
)

// Estimator keeps exponentially weighted moving averages of each client's
// link rate, for the most recently seen clients (an LRU of a fixed size,
// so memory stays bounded whatever the traffic), forgetting those not seen
// for MaxAge. Kernel figures (ObserveTCP) win over timing responses
// (Observe) when both exist, as the kernel measures delivery below any
// server or application stall. It is safe for concurrent use.
type Estimator struct {
	// MaxAge is how long a client's figures last without a new observation;
	// older ones are forgotten, and the next observation starts afresh.
	// Set it before use. NewEstimator sets DefaultMaxAge; 0 or less means
	// forever.
	MaxAge time.Duration

	mu    sync.Mutex
	size  int
	alpha float64
	now   func() time.Time // time.Now, but tests move it
	lru   *list.List       // front = most recent; values are *clientLink
	byKey map[string]*list.Element
}

type clientLink struct {
	key     string
	seen    time.Time // last observation
	tcpRate float64
	tcpRTT  float64 // nanoseconds
	tcpN    int
	rate    float64
	n       int
}

// NewEstimator returns an Estimator remembering size clients (0 or less:
// DefaultEstimatorSize).
func NewEstimator(size int) *Estimator {
	if size <= 0 {
		size = DefaultEstimatorSize
	}
	return &Estimator{
		MaxAge: DefaultMaxAge,
		size:   size,
		alpha:  DefaultAlpha,
		now:    time.Now,
		lru:    list.New(),
		byKey:  make(map[string]*list.Element),
	}
}

// Observe records that bytes reached client in d. Responses under
// MinObserveBytes and non-positive durations are ignored.
func (e *Estimator) Observe(client string, bytes int64, d time.Duration) {
	if bytes < MinObserveBytes || d <= 0 {
		return
	}
	rate := float64(bytes) / d.Seconds()
	e.mu.Lock()
	defer e.mu.Unlock()
	c := e.get(client)
	c.rate = ewma(c.rate, rate, c.n, e.alpha)
	c.n++
}

// ObserveTCP records the kernel's delivery rate (bytes/s) and smoothed RTT
// of a connection to client, as TCPInfo reads them. A zero rate is ignored
// (no data acknowledged yet); a zero rtt leaves the RTT average alone.
func (e *Estimator) ObserveTCP(client string, deliveryRate uint64, rtt time.Duration) {
	if deliveryRate == 0 {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	c := e.get(client)
	c.tcpRate = ewma(c.tcpRate, float64(deliveryRate), c.tcpN, e.alpha)
	if rtt > 0 {
		c.tcpRTT = ewma(c.tcpRTT, float64(rtt), c.tcpN, e.alpha)
	}
	c.tcpN++
}

// Estimate returns what is known of client's link; Source is SourceNone
// when nothing is. Asking does not refresh the client's place in the LRU.
func (e *Estimator) Estimate(client string) Estimate {
	e.mu.Lock()
	defer e.mu.Unlock()
	el, ok := e.byKey[client]
	if !ok {
		return Estimate{Source: SourceNone}
	}
	c := el.Value.(*clientLink)
	if e.stale(c) {
		e.lru.Remove(el)
		delete(e.byKey, client)
		return Estimate{Source: SourceNone}
	}
	switch {
	case c.tcpN > 0:
		return Estimate{BytesPerSec: c.tcpRate, RTT: time.Duration(c.tcpRTT), Source: SourceTCPInfo, Samples: c.tcpN}
	case c.n > 0:
		return Estimate{BytesPerSec: c.rate, RTT: time.Duration(c.tcpRTT), Source: SourceHistory, Samples: c.n}
	}
	return Estimate{Source: SourceNone}
}

// Len returns the number of clients remembered.
func (e *Estimator) Len() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.lru.Len()
}

func (e *Estimator) stale(c *clientLink) bool {
	return e.MaxAge > 0 && e.now().Sub(c.seen) > e.MaxAge
}

// get returns client's entry, marked seen now, creating it (or starting it
// afresh when stale) and evicting the least recently seen one past the size
// bound. e.mu must be held.
func (e *Estimator) get(client string) *clientLink {
	if el, ok := e.byKey[client]; ok {
		e.lru.MoveToFront(el)
		c := el.Value.(*clientLink)
		if e.stale(c) {
			*c = clientLink{key: client}
		}
		c.seen = e.now()
		return c
	}
	if e.lru.Len() >= e.size {
		old := e.lru.Back()
		e.lru.Remove(old)
		delete(e.byKey, old.Value.(*clientLink).key)
	}
	c := &clientLink{key: client, seen: e.now()}
	e.byKey[client] = e.lru.PushFront(c)
	return c
}

// ewma folds v into avg; the first sample is taken as it is.
func ewma(avg, v float64, n int, alpha float64) float64 {
	if n == 0 {
		return v
	}
	return avg + alpha*(v-avg)
}
