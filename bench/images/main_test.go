package main

import (
	"slices"
	"strconv"
	"testing"
	"time"
)

// TestTrace checks that every mode replays the same requests and that the
// mixes are what they claim: hot asks mostly the standard widths, cold
// mostly others.
func TestTrace(t *testing.T) {
	for _, mix := range mixes {
		a, b := trace(mix, 12, 500), trace(mix, 12, 500)
		if !slices.Equal(a, b) {
			t.Fatalf("%s: trace not deterministic", mix)
		}
	}
	standard := func(tr []mixRequest) int {
		n := 0
		for _, r := range tr {
			for _, w := range widths {
				if r.query == "w="+strconv.Itoa(w) {
					n++
				}
			}
		}
		return n
	}
	if hot, cold := standard(trace(mixHot, 12, 1000)), standard(trace(mixCold, 12, 1000)); hot < 850 || cold > 150 {
		t.Fatalf("standard widths: hot %d of 1000, cold %d", hot, cold)
	}
	for _, r := range trace(mixAuto, 12, 100) {
		if r.query != "w=auto" || r.ect == "" {
			t.Fatalf("auto request %+v", r)
		}
	}
}

// TestChecks_Fail makes sure a broken result fails a hard check.
func TestChecks_Fail(t *testing.T) {
	r := &Results{
		Requests: []RequestResult{
			{Input: "x", Kind: reqCached, P50: 10 * time.Millisecond},
			{Input: "x", Kind: reqCold, P50: time.Millisecond},
			{Input: "x", Kind: reqPlain, P50: time.Millisecond},
			{Input: "x", Kind: reqPrecomputed, P50: time.Millisecond},
		},
		Mixes: []MixResult{{Mode: "precompute", Mix: mixHot, Dynamic: 3}},
	}
	failed := 0
	for _, c := range checks(r) {
		if c.Hard && !c.OK {
			failed++
		}
	}
	if failed != 2 {
		t.Fatalf("%d hard checks failed, want 2 (cached slower than cold, dynamic in precompute mode)", failed)
	}
}
