package main

import (
	"crypto/rand"
	"fmt"
	"path/filepath"
	"time"
)

// Kinds of request timed per input.
const (
	reqPlain       = "plain object"
	reqOriginal    = "original"
	reqPrecomputed = "precomputed 640"
	reqCold        = "dynamic cold"
	reqCached      = "dynamic cached"
)

var requestKinds = []string{reqPlain, reqPrecomputed, reqCached, reqCold, reqOriginal}

// RequestResult is the latency of one kind of request for one input over
// loopback HTTP with keep-alive.
type RequestResult struct {
	Input    string
	MP       float64
	Kind     string
	N        int
	P50, P90 time.Duration
	Bytes    int64
}

// measureRequests times each kind of GET against a node in "both" mode.
// "plain object" is random bytes of the 640 variant's size: what any
// object of that size costs. Cold requests ask a width never asked before
// (500, 501, ...), so each one resizes.
func measureRequests(inputs []Input, reps, coldReps int, dir string) ([]RequestResult, error) {
	n, err := startNode("req", filepath.Join(dir, "requests"), nil)
	if err != nil {
		return nil, err
	}
	defer n.Close()
	base := n.URL()
	var out []RequestResult
	for _, in := range inputs {
		if err := put(base, in.Name, in.contentType(), in.Data); err != nil {
			return nil, err
		}
		if err := waitPrecomputed(base, in.Name, len(in.variantWidths())); err != nil {
			return nil, err
		}
		vl, err := listVariants(base, in.Name)
		if err != nil {
			return nil, err
		}
		var size int64
		for _, v := range vl.Variants {
			if v.Width == 640 {
				size = v.Bytes
			}
		}
		plain := make([]byte, size)
		rand.Read(plain)
		if err := put(base, in.Name+".bin", "application/octet-stream", plain); err != nil {
			return nil, err
		}
		obj := base + "/v1/objects/" + in.Name
		urls := map[string]func(i int) string{
			reqPlain:       func(int) string { return obj + ".bin" },
			reqOriginal:    func(int) string { return obj },
			reqPrecomputed: func(int) string { return obj + "?w=640" },
			reqCached:      func(int) string { return obj + "?w=600" },
			reqCold:        func(i int) string { return fmt.Sprintf("%s?w=%d", obj, 500+i) },
		}
		for _, kind := range requestKinds {
			n := reps
			if kind == reqCold {
				n = coldReps
			}
			r := RequestResult{Input: in.Name, MP: in.MP(), Kind: kind, N: n}
			var ds []time.Duration
			for i := -1; i < n; i++ { // one warm-up: connection, caches, the cached variant
				a, err := do("GET", urls[kind](i+1), nil)
				if err != nil {
					return nil, err
				}
				if i >= 0 {
					ds = append(ds, a.Time)
					r.Bytes = a.Bytes
				}
			}
			r.P50, r.P90 = median(ds), quantile(ds, 0.9)
			out = append(out, r)
			logf("request %-16s %-16s p50 %8.2f ms  p90 %8.2f ms  %7d B", in.Name, kind, ms(r.P50), ms(r.P90), r.Bytes)
		}
	}
	return out, nil
}
