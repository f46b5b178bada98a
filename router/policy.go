package router

import (
	"math"
)

// Metrics is what a policy knows of one server. NaN means unknown.
type Metrics struct {
	RTT        float64 // seconds, smoothed
	Jitter     float64 // seconds, smoothed |sample - RTT|
	Throughput float64 // bytes per second, smoothed
	Egress     float64 // USD per GB sent out
	ServerHour float64 // USD per server hour
}

// Params are the policy inputs that are the same for every server.
type Params struct {
	Policy Policy
	// Weight is the network share of the combined score, in [0,1].
	Weight float64
	// Size is the expected transfer in bytes; 0 makes the network figure
	// latency only.
	Size int64
	// NetFloor (seconds) and PriceFloor (USD/GB) bound the combined
	// score's divisors from below.
	NetFloor   float64
	PriceFloor float64
}

// Score is a server's rank under a policy: compared element by element,
// lower first. Score[0] is the policy's headline figure (seconds for
// network, USD/GB for price, the unitless mix for combined); the rest
// break ties.
type Score [3]float64

// Less orders scores; equal scores keep table order (by id).
func (a Score) Less(b Score) bool {
	for i := range a {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return false
}

// NetworkTime is the expected seconds to fetch size bytes from a server
// with these figures: RTT + jitter + size/throughput. Jitter is added so
// that an erratic link pays for its spikes; throughput counts only when
// the size is known.
func NetworkTime(m Metrics, size int64) float64 {
	t := m.RTT + m.Jitter
	if size > 0 && m.Throughput > 0 {
		t += float64(size) / m.Throughput
	}
	return t
}

// Scores ranks ms under p into out (len(out) >= len(ms)). Unknown figures
// are filled so that neither a fresh server nor a missing price row
// breaks the order: unknown RTT or jitter counts as the worst known one
// (pessimistic: a probe fixes it within one interval), unknown throughput
// adds no transfer time (optimistic: the server gets the next large
// transfer, which measures it, instead of never being tried), unknown
// egress sorts last under price and counts as the worst known price
// under combined.
func Scores(p Params, ms []Metrics, out []Score) {
	if len(ms) == 0 {
		return
	}
	worstRTT, worstJit := math.NaN(), math.NaN()
	worstEg, bestEg := math.NaN(), math.NaN()
	for i := range ms {
		m := &ms[i]
		worstRTT = nanMax(worstRTT, m.RTT)
		worstJit = nanMax(worstJit, m.Jitter)
		worstEg = nanMax(worstEg, m.Egress)
		bestEg = nanMin(bestEg, m.Egress)
	}
	worstRTT, worstJit = zeroIfNaN(worstRTT), zeroIfNaN(worstJit)

	// First pass: the network figure of each server into out[i][1], the
	// best of them for the combined divisor.
	bestNet := math.Inf(1)
	for i := range ms {
		m := ms[i]
		if math.IsNaN(m.RTT) {
			m.RTT = worstRTT
		}
		if math.IsNaN(m.Jitter) {
			m.Jitter = worstJit
		}
		net := NetworkTime(m, p.Size)
		out[i][1] = net
		if net < bestNet {
			bestNet = net
		}
	}

	switch p.Policy {
	case PolicyPrice:
		for i := range ms {
			net := out[i][1]
			out[i] = Score{infIfNaN(ms[i].Egress), infIfNaN(ms[i].ServerHour), net}
		}
	case PolicyCombined:
		netDiv := fmax(bestNet, p.NetFloor)
		priceDiv := p.PriceFloor
		if !math.IsNaN(bestEg) {
			priceDiv = fmax(bestEg, p.PriceFloor)
		}
		for i := range ms {
			net := out[i][1]
			eg := ms[i].Egress
			if math.IsNaN(eg) {
				eg = worstEg
			}
			priceNorm := 1.0
			if !math.IsNaN(eg) {
				priceNorm = fmax(eg, p.PriceFloor) / priceDiv
			}
			netNorm := 1.0
			if netDiv > 0 {
				netNorm = fmax(net, p.NetFloor) / netDiv
			}
			score := p.Weight*netNorm + (1-p.Weight)*priceNorm
			out[i] = Score{score, net, infIfNaN(ms[i].Egress)}
		}
	default: // network
		for i := range ms {
			out[i] = Score{out[i][1], infIfNaN(ms[i].Egress), 0}
		}
	}
}

// best returns the index of the lowest score not in skip, or -1.
func best(scores []Score, skip []int) int {
	b := -1
outer:
	for i := range scores {
		for _, s := range skip {
			if s == i {
				continue outer
			}
		}
		if b < 0 || scores[i].Less(scores[b]) {
			b = i
		}
	}
	return b
}

// nanMax and nanMin ignore a NaN side; plain comparisons rather than
// math.Max/Min, which are not inlined and dominate a 100-server ranking.
func nanMax(a, b float64) float64 {
	if a != a || b > a {
		return b
	}
	return a
}

func nanMin(a, b float64) float64 {
	if a != a || b < a {
		return b
	}
	return a
}

func fmax(a, b float64) float64 {
	if b > a {
		return b
	}
	return a
}

func zeroIfNaN(v float64) float64 {
	if math.IsNaN(v) {
		return 0
	}
	return v
}

func infIfNaN(v float64) float64 {
	if math.IsNaN(v) {
		return math.Inf(1)
	}
	return v
}
