package main

import (
	"fmt"
	"math"
	"slices"
)

// Check is one sanity check of a run. A hard one failing voids the run.
type Check struct {
	Name   string
	OK     bool
	Hard   bool
	Detail string
}

func checks(r *Results) []Check {
	var out []Check
	add := func(hard bool, ok bool, name, format string, args ...any) {
		out = append(out, Check{Name: name, OK: ok, Hard: hard, Detail: fmt.Sprintf(format, args...)})
	}
	for _, p := range r.Precompute {
		var got []int
		for w := range p.VariantBytes {
			got = append(got, w)
		}
		slices.Sort(got)
		add(true, slices.Equal(got, p.Widths), "precompute widths "+p.Input, "made %v, want %v", got, p.Widths)
		add(false, p.StoredBytes < p.OrigBytes, "variants smaller than original "+p.Input,
			"%d B of variants for a %d B original", p.StoredBytes, p.OrigBytes)
	}
	byKind := map[string]map[string]RequestResult{}
	for _, q := range r.Requests {
		if byKind[q.Input] == nil {
			byKind[q.Input] = map[string]RequestResult{}
		}
		byKind[q.Input][q.Kind] = q
	}
	for in, k := range byKind {
		add(true, k[reqCached].P50 < k[reqCold].P50, "cached faster than cold "+in,
			"cached p50 %.2f ms, cold %.2f ms", ms(k[reqCached].P50), ms(k[reqCold].P50))
		ratio := float64(k[reqPrecomputed].P50) / float64(k[reqPlain].P50)
		add(false, ratio < 1.5, "precomputed served like a plain object "+in,
			"p50 %.3f ms vs %.3f ms for a plain object of the same size (x%.2f)", ms(k[reqPrecomputed].P50), ms(k[reqPlain].P50), ratio)
	}
	for _, s := range r.Slow {
		add(true, s.AutoBytes <= s.OrigBytes, fmt.Sprintf("auto no larger than original %s %.2f Mbit/s", s.Input, s.RateMbps),
			"%d B vs %d B", s.AutoBytes, s.OrigBytes)
		if s.MeasuredAuto > 0 {
			for _, m := range []struct {
				what               string
				measured, computed float64
			}{{"auto", s.MeasuredAuto, s.ComputedAuto0}, {"original", s.MeasuredOrig, s.ComputedOrig0}} {
				dev := math.Abs(m.measured-m.computed) / m.computed
				add(true, dev < 0.3, fmt.Sprintf("toxiproxy agrees with bytes/rate: %s %s %.2f Mbit/s", m.what, s.Input, s.RateMbps),
					"measured %.2f s, computed %.2f s (%.0f%% off)", m.measured, m.computed, 100*dev)
			}
		}
	}
	for _, m := range r.Mixes {
		switch m.Mode {
		case "precompute":
			add(true, m.Dynamic == 0, "precompute mode makes no dynamic variants "+m.Mix, "%d dynamic", m.Dynamic)
		case "dynamic":
			add(true, m.Precomputed == 0, "dynamic mode precomputes nothing "+m.Mix, "%d precomputed", m.Precomputed)
		}
	}
	for _, p := range r.Repl {
		add(true, p.Measured >= p.OrigBytes, "peer received the original "+p.Input,
			"%d B counted for a %d B original", p.Measured, p.OrigBytes)
	}
	return out
}
