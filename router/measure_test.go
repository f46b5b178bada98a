package router

import (
	"math"
	"testing"
	"time"
)

func TestEWMA(t *testing.T) {
	if got := ewma(math.NaN(), 10, .3); got != 10 {
		t.Fatalf("first sample: %v, want 10", got)
	}
	if got, want := ewma(10, 20, .3), 13.0; math.Abs(got-want) > 1e-12 {
		t.Fatalf("ewma=%v, want %v", got, want)
	}
	// A run of equal samples converges to them.
	v := 100.0
	for i := 0; i < 100; i++ {
		v = ewma(v, 5, .3)
	}
	if math.Abs(v-5) > 1e-6 {
		t.Fatalf("after 100 samples of 5: %v", v)
	}
}

func TestBackoff(t *testing.T) {
	for _, tc := range []struct {
		n    int
		want time.Duration
	}{
		{0, time.Second}, {1, time.Second}, {2, 2 * time.Second}, {3, 4 * time.Second},
		{5, 16 * time.Second}, {6, 30 * time.Second}, {100, 30 * time.Second},
	} {
		if got := backoff(tc.n, time.Second, 30*time.Second); got != tc.want {
			t.Errorf("backoff(%d)=%v, want %v", tc.n, got, tc.want)
		}
	}
}

func TestStats_RTT(t *testing.T) {
	s := newStats()
	if !math.IsNaN(s.rtt.Load()) {
		t.Fatal("fresh stats have an RTT")
	}
	s.observeRTT(10*time.Millisecond, .5)
	if got, want := s.rtt.Load(), .010; got != want {
		t.Fatalf("rtt=%v, want %v", got, want)
	}
	if got, want := s.jitter.Load(), .005; got != want {
		t.Fatalf("first jitter=%v, want half the rtt %v", got, want)
	}
	s.observeRTT(20*time.Millisecond, .5)
	if got, want := s.rtt.Load(), .015; math.Abs(got-want) > 1e-12 {
		t.Fatalf("rtt=%v, want %v", got, want)
	}
	// |20-10| = 10 ms folded into 5 ms with weight .5.
	if got, want := s.jitter.Load(), .0075; math.Abs(got-want) > 1e-12 {
		t.Fatalf("jitter=%v, want %v", got, want)
	}
}

func TestStats_Throughput(t *testing.T) {
	s := newStats()
	t0 := time.Unix(1000, 0)
	s.observeTransfer(t0, 1e6, time.Second, .5, time.Minute)
	s.observeTransfer(t0.Add(time.Second), 3e6, time.Second, .5, time.Minute)
	if got, want := s.throughput.Load(), 2e6; got != want {
		t.Fatalf("throughput=%v, want %v", got, want)
	}
	// Unrefreshed for longer than the TTL, the figure is unknown again...
	later := t0.Add(2 * time.Minute).UnixNano()
	if got := s.throughputAt(later, time.Minute); !math.IsNaN(got) {
		t.Fatalf("throughput %v after its TTL, want unknown", got)
	}
	if got := s.throughputAt(later, time.Hour); got != 2e6 {
		t.Fatalf("throughput %v within a longer TTL, want 2e6", got)
	}
	// ...and the next sample replaces it instead of averaging with it.
	s.observeTransfer(t0.Add(2*time.Minute), 8e6, time.Second, .5, time.Minute)
	if got, want := s.throughput.Load(), 8e6; got != want {
		t.Fatalf("throughput=%v after a stale figure, want %v", got, want)
	}
}

func TestStats_Ejection(t *testing.T) {
	s := newStats()
	base, max := time.Second, 8*time.Second
	t0 := time.Unix(1000, 0)
	s.fail(t0, base, max)
	if !s.ejected() {
		t.Fatal("not ejected after a failure")
	}
	if got, want := unixTime(s.ejectedUntil.Load()), t0.Add(time.Second); !got.Equal(want) {
		t.Fatalf("ejected until %v, want %v", got, want)
	}
	// A probe before the back-off is over does not bring it back.
	s.probeOK(t0.Add(500 * time.Millisecond))
	if !s.ejected() {
		t.Fatal("back before its ejection time")
	}
	s.probeOK(t0.Add(time.Second))
	if s.ejected() {
		t.Fatal("still ejected after a probe past its ejection time")
	}
	// Consecutive failures double the ejection, up to max.
	for i, want := range []time.Duration{2, 4, 8, 8} {
		now := t0.Add(time.Duration(10*(i+1)) * time.Second)
		s.fail(now, base, max)
		if got := unixTime(s.ejectedUntil.Load()).Sub(now); got != want*time.Second {
			t.Fatalf("failure %d: ejected for %v, want %v", i+2, got, want*time.Second)
		}
	}
	if got, want := s.failures.Load(), uint64(5); got != want {
		t.Fatalf("failures=%d, want %d", got, want)
	}
	// A served request resets the ladder; a fast error never counts as
	// an RTT sample.
	s.succeed()
	if got := s.consecutiveFailures(); got != 0 {
		t.Fatalf("consecutive=%d after success, want 0", got)
	}
	if got := s.rttSamples.Load(); got != 0 {
		t.Fatalf("rtt samples=%d from failures, want 0", got)
	}
	now := t0.Add(time.Hour)
	s.fail(now, base, max)
	if got := unixTime(s.ejectedUntil.Load()).Sub(now); got != base {
		t.Fatalf("ejected for %v after reset, want %v", got, base)
	}
}

func TestDecisionLog(t *testing.T) {
	var l decisionLog
	if got := l.recent(10); len(got) != 0 {
		t.Fatalf("empty log gave %d", len(got))
	}
	for i := 0; i < decisionSlots+10; i++ {
		l.add(&decision{status: i})
	}
	got := l.recent(50)
	if len(got) != 50 || got[0].status != decisionSlots+9 || got[49].status != decisionSlots+9-49 {
		t.Fatalf("recent: %d entries, first %d", len(got), got[0].status)
	}
}

func TestSizeCache(t *testing.T) {
	var c sizeCache
	c.seed = newSeedForTest()
	if got := c.get("/a", ""); got != -1 {
		t.Fatalf("empty cache: %d", got)
	}
	c.put("/a", "", 10)
	c.put("/a", "w=100", 3)
	if got := c.get("/a", ""); got != 10 {
		t.Fatalf("get /a=%d, want 10", got)
	}
	if got := c.get("/a", "w=100"); got != 3 {
		t.Fatalf("get /a?w=100=%d, want 3", got)
	}
}

func TestConfig_Validate(t *testing.T) {
	ok := DefaultConfig()
	ok.Seeds = []string{"http://127.0.0.1:8081"}
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid config: %v", err)
	}
	for _, tc := range []struct {
		name  string
		field string
		mod   func(c *Config)
	}{
		{"NoServer", "Seeds", func(c *Config) { c.Seeds = nil }},
		{"BadSeed", "Seeds", func(c *Config) { c.Seeds = []string{"127.0.0.1:8081"} }},
		{"BadPolicy", "Policy", func(c *Config) { c.Policy = "cheap" }},
		{"Weight", "Weight", func(c *Config) { c.Weight = 1.5 }},
		{"Probe", "ProbeInterval", func(c *Config) { c.ProbeInterval = 0 }},
		{"EjectMax", "EjectMax", func(c *Config) { c.EjectMax = time.Millisecond }},
		{"TLS", "TLSCert", func(c *Config) { c.TLSCert = "x.pem" }},
		{"PriceInfo", "PriceInfo", func(c *Config) { c.PriceInfo = "nope" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := ok
			tc.mod(&c)
			err := c.Validate()
			ce, isCE := err.(*ConfigError)
			if !isCE || ce.Field != tc.field {
				t.Fatalf("Validate()=%v, want a ConfigError on %s", err, tc.field)
			}
		})
	}
}

func TestParseStatic(t *testing.T) {
	got, err := ParseStatic("a=http://127.0.0.1:1, b@aws=https://127.0.0.1:2")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0] != (StaticServer{"a", "http://127.0.0.1:1", ""}) || got[1] != (StaticServer{"b", "https://127.0.0.1:2", "aws"}) {
		t.Fatalf("ParseStatic=%+v", got)
	}
	for _, bad := range []string{"a", "=http://x", "a=ftp://x"} {
		if _, err := ParseStatic(bad); err == nil {
			t.Errorf("ParseStatic(%q): want error", bad)
		}
	}
}
