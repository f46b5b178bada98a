package router

import (
	"fmt"
	"math"
	"testing"
	"time"
)

var nan = math.NaN()

func m(rttMs, jitMs, tputMBps, egress, hour float64) Metrics {
	conv := func(v, f float64) float64 {
		if math.IsNaN(v) {
			return v
		}
		return v * f
	}
	return Metrics{RTT: conv(rttMs, 1e-3), Jitter: conv(jitMs, 1e-3), Throughput: conv(tputMBps, 1e6), Egress: egress, ServerHour: hour}
}

func pick(p Params, ms ...Metrics) int {
	out := make([]Score, len(ms))
	Scores(p, ms, out)
	return best(out, nil)
}

func TestScores_Pick(t *testing.T) {
	net := Params{Policy: PolicyNetwork, NetFloor: 1e-3, PriceFloor: 1e-3}
	price := Params{Policy: PolicyPrice, NetFloor: 1e-3, PriceFloor: 1e-3}
	comb := func(w float64) Params {
		return Params{Policy: PolicyCombined, Weight: w, NetFloor: 1e-3, PriceFloor: 1e-3}
	}
	sized := func(p Params, n int64) Params { p.Size = n; return p }
	for _, tc := range []struct {
		name string
		p    Params
		ms   []Metrics
		want int
	}{
		{"NetworkLowestRTT", net, []Metrics{m(20, 1, 10, .01, 1), m(5, 1, 10, .09, 1), m(10, 1, 10, .05, 1)}, 1},
		{"NetworkJitterCounts", net, []Metrics{m(5, 10, 10, .01, 1), m(8, 1, 10, .09, 1)}, 1},
		{"NetworkSmallSizeRTTWins", sized(net, 1<<10), []Metrics{m(5, 0, 1, 0, 0), m(20, 0, 100, 0, 0)}, 0},
		{"NetworkBigSizeThroughputWins", sized(net, 100<<20), []Metrics{m(5, 0, 1, 0, 0), m(20, 0, 100, 0, 0)}, 1},
		{"NetworkTieBrokenByPrice", net, []Metrics{m(5, 1, 10, .09, 1), m(5, 1, 10, .02, 1)}, 1},
		{"NetworkUnknownRTTIsWorst", net, []Metrics{m(nan, nan, nan, 0, 0), m(30, 1, nan, 0, 0), m(10, 1, nan, 0, 0)}, 2},
		{"NetworkUnknownThroughputIsExplored", sized(net, 100<<20), []Metrics{m(5, 0, 1, 0, 0), m(5, 0, nan, 0, 0), m(5, 0, 10, 0, 0)}, 1},
		{"NetworkNothingKnownFirst", net, []Metrics{m(nan, nan, nan, nan, nan), m(nan, nan, nan, nan, nan)}, 0},
		{"PriceLowestEgress", price, []Metrics{m(1, 0, 10, .09, 1), m(50, 0, 10, .02, 5), m(9, 0, 10, .05, 1)}, 1},
		{"PriceTieHourly", price, []Metrics{m(1, 0, 10, .05, 2), m(50, 0, 10, .05, 1)}, 1},
		{"PriceTieNetwork", price, []Metrics{m(50, 0, 10, .05, 1), m(1, 0, 10, .05, 1)}, 1},
		{"PriceUnknownLast", price, []Metrics{m(1, 0, 10, nan, nan), m(50, 0, 10, .12, 1)}, 1},
		{"CombinedWeight1IsNetwork", comb(1), []Metrics{m(5, 0, 10, .09, 1), m(50, 0, 10, .01, 1)}, 0},
		{"CombinedWeight0IsPrice", comb(0), []Metrics{m(5, 0, 10, .09, 1), m(50, 0, 10, .01, 1)}, 1},
		// 2x slower but 3x cheaper: 0.5*2+0.5*1 = 1.5 < 0.5*1+0.5*3 = 2.
		{"CombinedBalanced", comb(.5), []Metrics{m(10, 0, 10, .03, 1), m(20, 0, 10, .01, 1)}, 1},
		// 5x slower for 3x cheaper: 0.5*5+0.5 = 3 > 2.
		{"CombinedFarTooSlow", comb(.5), []Metrics{m(10, 0, 10, .03, 1), m(50, 0, 10, .01, 1)}, 0},
		// Below the floor, loopback noise does not outweigh price.
		{"CombinedNetFloor", comb(.5), []Metrics{m(.1, 0, 10, .03, 1), m(.4, 0, 10, .02, 1)}, 1},
		{"CombinedUnknownPriceIsWorst", comb(.5), []Metrics{m(10, 0, 10, nan, nan), m(11, 0, 10, .02, 1), m(10, 0, 10, .09, 1)}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := pick(tc.p, tc.ms...); got != tc.want {
				out := make([]Score, len(tc.ms))
				Scores(tc.p, tc.ms, out)
				t.Fatalf("pick=%d, want %d (scores %v)", got, tc.want, out)
			}
		})
	}
}

func TestScores_CombinedValues(t *testing.T) {
	ms := []Metrics{m(10, 0, nan, .03, 1), m(20, 0, nan, .01, 1)}
	out := make([]Score, 2)
	Scores(Params{Policy: PolicyCombined, Weight: .5, NetFloor: 1e-3, PriceFloor: 1e-3}, ms, out)
	for i, want := range []float64{2, 1.5} {
		if got := out[i][0]; math.Abs(got-want) > 1e-9 {
			t.Errorf("score[%d]=%v, want %v", i, got, want)
		}
	}
}

func TestScore_Less(t *testing.T) {
	for _, tc := range []struct {
		a, b Score
		want bool
	}{
		{Score{1, 9, 9}, Score{2, 0, 0}, true},
		{Score{1, 1, 9}, Score{1, 2, 0}, true},
		{Score{1, 1, 1}, Score{1, 1, 1}, false},
		{Score{math.Inf(1), 5, 0}, Score{math.Inf(1), 6, 0}, true},
	} {
		if got := tc.a.Less(tc.b); got != tc.want {
			t.Errorf("%v.Less(%v)=%v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestBest_Skip(t *testing.T) {
	sc := []Score{{3}, {1}, {2}}
	var order []int
	for {
		i := best(sc, order)
		if i < 0 {
			break
		}
		order = append(order, i)
	}
	if got, want := fmt.Sprint(order), "[1 2 0]"; got != want {
		t.Fatalf("order=%s, want %s", got, want)
	}
}

func TestParsePolicy(t *testing.T) {
	for in, want := range map[string]Policy{"network": PolicyNetwork, " Price ": PolicyPrice, "COMBINED": PolicyCombined} {
		if got, err := ParsePolicy(in); err != nil || got != want {
			t.Errorf("ParsePolicy(%q)=%q,%v, want %q", in, got, err, want)
		}
	}
	if _, err := ParsePolicy("cheapest"); err == nil {
		t.Error("ParsePolicy(cheapest): want error")
	}
}

// benchRouter builds a Router with n measured, priced servers and no I/O.
func benchRouter(b *testing.B, n int, p Policy) *Router {
	cfg := DefaultConfig()
	cfg.Policy = p
	for i := 0; i < n; i++ {
		cfg.Static = append(cfg.Static, StaticServer{ID: fmt.Sprintf("s%03d", i), URL: fmt.Sprintf("http://127.0.0.1:%d", 10000+i), Provider: fmt.Sprintf("p%d", i%5)})
	}
	rt, err := New(cfg, nil)
	if err != nil {
		b.Fatal(err)
	}
	pt := &priceTable{rows: map[string]*Price{}}
	for i := 0; i < 5; i++ {
		pt.rows[fmt.Sprintf("p%d", i)] = &Price{EgressPerGB: 0.01 * float64(i+1), ServerPerHour: 1}
	}
	rt.setPrices(pt)
	for i, s := range rt.Servers() {
		s.st.observeRTT(time.Duration(1+i%17)*time.Millisecond, 0.3)
		s.st.observeTransfer(time.Now(), 1<<20, time.Duration(1+i%7)*time.Millisecond, 0.3, time.Minute)
	}
	return rt
}

func BenchmarkDecide(b *testing.B) {
	for _, n := range []int{3, 100} {
		for _, p := range []Policy{PolicyNetwork, PolicyPrice, PolicyCombined} {
			b.Run(fmt.Sprintf("servers=%d/%s", n, p), func(b *testing.B) {
				rt := benchRouter(b, n, p)
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					if rt.Decide(16<<10) == nil {
						b.Fatal("no pick")
					}
				}
			})
		}
	}
}

// BenchmarkScores is the arithmetic of a ranking alone, without reading
// servers: 100 servers under the combined policy.
func BenchmarkScores(b *testing.B) {
	ms := make([]Metrics, 100)
	for i := range ms {
		ms[i] = m(float64(1+i%17), 0.5, float64(1+i%7), 0.01*float64(1+i%5), 1)
	}
	out := make([]Score, len(ms))
	p := Params{Policy: PolicyCombined, Weight: .5, Size: 16 << 10, NetFloor: 1e-3, PriceFloor: 1e-3}
	for b.Loop() {
		Scores(p, ms, out)
		if best(out, nil) < 0 {
			b.Fatal("no pick")
		}
	}
}
