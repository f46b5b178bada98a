package router

import (
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// ewma folds sample into the running average avg with weight alpha; the
// first sample (avg NaN) is taken as is.
func ewma(avg, sample, alpha float64) float64 {
	if math.IsNaN(avg) {
		return sample
	}
	return avg + alpha*(sample-avg)
}

// backoff is the ejection time after n consecutive failures (n >= 1):
// base doubled n-1 times, capped at max.
func backoff(n int, base, max time.Duration) time.Duration {
	if n < 1 {
		n = 1
	}
	d := base
	for i := 1; i < n; i++ {
		d *= 2
		if d >= max || d <= 0 {
			return max
		}
	}
	if d > max {
		return max
	}
	return d
}

// atomicFloat is a float64 read without locks; NaN means "no sample yet".
type atomicFloat struct{ bits atomic.Uint64 }

func (f *atomicFloat) Load() float64   { return math.Float64frombits(f.bits.Load()) }
func (f *atomicFloat) Store(v float64) { f.bits.Store(math.Float64bits(v)) }

// stats are one server's measured network figures. Readers (the request
// path) only load atomics; writers (probes, finished transfers, failures)
// serialise on mu so that read-modify-write of the averages is exact.
type stats struct {
	mu          sync.Mutex
	consecutive int // consecutive failures; under mu

	rtt        atomicFloat // seconds, EWMA of successful probes
	jitter     atomicFloat // seconds, EWMA of |sample - rtt|
	throughput atomicFloat // bytes/s, EWMA of transfers >= MinThroughputSize

	rttSamples   atomic.Uint64
	tputSamples  atomic.Uint64
	tputAt       atomic.Int64 // unix nanos of the last throughput sample
	requests     atomic.Uint64
	failures     atomic.Uint64
	lastFailure  atomic.Int64 // unix nanos; 0 = never
	ejectedUntil atomic.Int64 // unix nanos; 0 = not ejected
	inflight     atomic.Int64
}

func newStats() *stats {
	s := &stats{}
	s.rtt.Store(math.NaN())
	s.jitter.Store(math.NaN())
	s.throughput.Store(math.NaN())
	return s
}

// observeRTT records a successful probe's round trip.
func (s *stats) observeRTT(d time.Duration, alpha float64) {
	sample := d.Seconds()
	s.mu.Lock()
	old := s.rtt.Load()
	if math.IsNaN(old) {
		s.rtt.Store(sample)
		s.jitter.Store(sample / 2) // RFC 6298's first RTTVAR
	} else {
		s.jitter.Store(ewma(s.jitter.Load(), math.Abs(sample-old), alpha))
		s.rtt.Store(ewma(old, sample, alpha))
	}
	s.mu.Unlock()
	s.rttSamples.Add(1)
}

// observeTransfer records a successful body copy of n bytes in d, ending
// at now. A figure older than ttl is replaced, not averaged with.
func (s *stats) observeTransfer(now time.Time, n int64, d time.Duration, alpha float64, ttl time.Duration) {
	if d <= 0 {
		d = time.Microsecond
	}
	sample := float64(n) / d.Seconds()
	s.mu.Lock()
	old := s.throughput.Load()
	if s.stale(now.UnixNano(), ttl) {
		old = math.NaN()
	}
	s.throughput.Store(ewma(old, sample, alpha))
	s.tputAt.Store(now.UnixNano())
	s.mu.Unlock()
	s.tputSamples.Add(1)
}

// stale reports whether the throughput figure is older than ttl at now: a
// figure nobody refreshed says little about the link today.
func (s *stats) stale(now int64, ttl time.Duration) bool {
	at := s.tputAt.Load()
	return at != 0 && now-at > int64(ttl)
}

// throughputAt is the throughput figure, NaN when unknown or older than ttl.
func (s *stats) throughputAt(now int64, ttl time.Duration) float64 {
	if s.stale(now, ttl) {
		return math.NaN()
	}
	return s.throughput.Load()
}

// fail records a failure (refused, timed out, 5xx) at now and ejects the
// server for the back-off of its consecutive failure count.
func (s *stats) fail(now time.Time, base, max time.Duration) {
	s.failures.Add(1)
	s.mu.Lock()
	s.consecutive++
	n := s.consecutive
	s.mu.Unlock()
	s.lastFailure.Store(now.UnixNano())
	s.ejectedUntil.Store(now.Add(backoff(n, base, max)).UnixNano())
}

// succeed records a real request that the server answered without a
// server error: the back-off ladder starts again from the bottom.
func (s *stats) succeed() {
	s.mu.Lock()
	s.consecutive = 0
	s.mu.Unlock()
}

// probeOK records a successful health probe. It lifts an ejection only
// once its time is over, so a server always sits out its back-off and is
// probed before it returns.
func (s *stats) probeOK(now time.Time) {
	if u := s.ejectedUntil.Load(); u != 0 && now.UnixNano() >= u {
		s.ejectedUntil.CompareAndSwap(u, 0)
	}
}

// ejected reports whether the server is out of rotation.
func (s *stats) ejected() bool { return s.ejectedUntil.Load() != 0 }

func (s *stats) consecutiveFailures() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.consecutive
}
