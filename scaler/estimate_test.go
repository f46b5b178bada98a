package scaler

import (
	"fmt"
	"math"
	"sync"
	"testing"
	"time"
)

func TestEstimator_History(t *testing.T) {
	e := NewEstimator(0)
	if got := e.Estimate("10.0.0.1"); got.Source != SourceNone || got.BytesPerSec != 0 {
		t.Fatalf("unknown client: %+v", got)
	}
	e.Observe("c", 100_000, time.Second) // 100 kB/s
	got := e.Estimate("c")
	if got.Source != SourceHistory || got.BytesPerSec != 100_000 || got.Samples != 1 {
		t.Fatalf("after one sample: %+v", got)
	}
	e.Observe("c", 200_000, time.Second)
	want := 100_000 + DefaultAlpha*(200_000-100_000)
	if got := e.Estimate("c"); math.Abs(got.BytesPerSec-want) > 1e-6 || got.Samples != 2 {
		t.Fatalf("after two samples: %+v, want rate %v", got, want)
	}
}

func TestEstimator_IgnoresUselessSamples(t *testing.T) {
	e := NewEstimator(0)
	e.Observe("c", MinObserveBytes-1, time.Millisecond) // too small to measure bandwidth
	e.Observe("c", 1<<20, 0)                            // no duration
	e.Observe("c", 1<<20, -time.Second)
	e.ObserveTCP("c", 0, time.Millisecond) // nothing delivered yet
	if got := e.Estimate("c"); got.Source != SourceNone {
		t.Fatalf("useless samples produced %+v", got)
	}
}

func TestEstimator_TCPInfoWins(t *testing.T) {
	e := NewEstimator(0)
	e.Observe("c", 100_000, time.Second)
	e.ObserveTCP("c", 3_000_000, 40*time.Millisecond)
	got := e.Estimate("c")
	if got.Source != SourceTCPInfo || got.BytesPerSec != 3_000_000 || got.RTT != 40*time.Millisecond {
		t.Fatalf("with tcp_info: %+v", got)
	}
	e.ObserveTCP("c", 1_000_000, 0) // zero RTT leaves the average alone
	got = e.Estimate("c")
	if got.RTT != 40*time.Millisecond || got.Samples != 2 {
		t.Fatalf("after rate-only sample: %+v", got)
	}
}

func TestEstimator_LRU(t *testing.T) {
	e := NewEstimator(3)
	for i := 0; i < 3; i++ {
		e.Observe(fmt.Sprint(i), 1<<20, time.Second)
	}
	e.Observe("0", 1<<20, time.Second) // 0 is now the most recent; 1 the oldest
	e.Observe("3", 1<<20, time.Second)
	if got := e.Len(); got != 3 {
		t.Fatalf("Len()=%d, want 3", got)
	}
	if got := e.Estimate("1"); got.Source != SourceNone {
		t.Fatalf("least recent client kept: %+v", got)
	}
	for _, k := range []string{"0", "2", "3"} {
		if got := e.Estimate(k); got.Source == SourceNone {
			t.Fatalf("client %s evicted", k)
		}
	}
}

func TestEstimator_BoundedUnderLoad(t *testing.T) {
	e := NewEstimator(0)
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Go(func() {
			for i := 0; i < 3000; i++ {
				k := fmt.Sprintf("%d.%d", g, i)
				e.Observe(k, 1<<20, time.Second)
				e.ObserveTCP(k, 1e6, time.Millisecond)
				_ = e.Estimate(k)
			}
		})
	}
	wg.Wait()
	if got := e.Len(); got != DefaultEstimatorSize {
		t.Fatalf("Len()=%d, want %d", got, DefaultEstimatorSize)
	}
}

func TestEstimator_MaxAge(t *testing.T) {
	e := NewEstimator(0)
	now := time.Unix(1_700_000_000, 0)
	e.now = func() time.Time { return now }
	e.Observe("c", 1_000_000, time.Second)
	now = now.Add(DefaultMaxAge)
	if got := e.Estimate("c"); got.Source != SourceHistory {
		t.Fatalf("at MaxAge: %+v, want still known", got)
	}
	// A stale entry does not fold into a new sample: the average restarts.
	now = now.Add(time.Second)
	e.Observe("c", 50_000, time.Second)
	if got := e.Estimate("c"); got.BytesPerSec != 50_000 || got.Samples != 1 {
		t.Fatalf("after a stale gap: %+v, want a fresh average", got)
	}
	now = now.Add(DefaultMaxAge + time.Second)
	if got := e.Estimate("c"); got.Source != SourceNone {
		t.Fatalf("past MaxAge: %+v, want forgotten", got)
	}
	if got := e.Len(); got != 0 {
		t.Fatalf("Len()=%d after a stale entry was asked for", got)
	}
	e.MaxAge = 0 // forever
	e.ObserveTCP("d", 1e6, time.Millisecond)
	now = now.Add(1000 * time.Hour)
	if got := e.Estimate("d"); got.Source != SourceTCPInfo {
		t.Fatalf("with MaxAge 0: %+v", got)
	}
}
