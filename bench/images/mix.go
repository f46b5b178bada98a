package main

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"time"

	"metacdn/node"
	"metacdn/scaler/testimg"
)

// Request mixes replayed against each scale mode.
const (
	mixHot  = "hot"  // popular images, mostly the standard widths (srcset)
	mixCold = "cold" // any image, mostly arbitrary widths (layout-specific)
	mixAuto = "auto" // popular images, ?w=auto from 2G, 3G and 4G clients
)

var (
	mixes = []string{mixHot, mixCold, mixAuto}
	modes = []string{node.ScalePrecompute, node.ScaleDynamic, node.ScaleBoth}
)

// MixResult is one scale mode under one request mix.
type MixResult struct {
	Mode, Mix    string
	Images       int
	Requests     int
	UploadCPU    time.Duration // uploads until every precompute finished
	UploadWall   time.Duration
	RequestCPU   time.Duration // the whole replay
	Mean, P95    time.Duration
	BytesServed  int64
	StoredBytes  int64 // all variants at the end
	Precomputed  int   // variants made, by kind
	Dynamic      int
	FromOriginal int // answers that were the original
}

type mixRequest struct {
	image int
	query string
	ect   string
}

// mixImages are photos of mixed sizes, 0.5 to 6 megapixels.
func mixImages(n int) []Input {
	sizes := [][2]int{{1600, 1200}, {2000, 1500}, {3000, 2000}, {800, 600}}
	out := make([]Input, n)
	for i := range out {
		s := sizes[i%len(sizes)]
		out[i] = Input{Name: fmt.Sprintf("mix/%02d.jpg", i), Width: s[0], Height: s[1], Format: "jpeg",
			Data: testimg.PhotoJPEG(s[0], s[1], uint64(1000+i), 85)}
	}
	return out
}

// trace draws a request sequence of mix, the same for every mode (seeded).
func trace(mix string, images, n int) []mixRequest {
	rng := rand.New(rand.NewPCG(7, uint64(len(mix))))
	zipf := rand.NewZipf(rng, 1.2, 1, uint64(images-1))
	arbitrary := func() int { return 100 + rng.IntN(1301) }
	standard := func() int { return widths[rng.IntN(len(widths))] }
	out := make([]mixRequest, n)
	for i := range out {
		var r mixRequest
		switch mix {
		case mixHot:
			r.image = int(zipf.Uint64())
			w := standard()
			if rng.Float64() < 0.1 {
				w = arbitrary()
			}
			r.query = fmt.Sprintf("w=%d", w)
		case mixCold:
			r.image = rng.IntN(images)
			w := arbitrary()
			if rng.Float64() < 0.1 {
				w = standard()
			}
			r.query = fmt.Sprintf("w=%d", w)
		case mixAuto:
			r.image = int(zipf.Uint64())
			r.query = "w=auto"
			r.ect = []string{"2g", "3g", "4g"}[rng.IntN(3)]
		}
		out[i] = r
	}
	return out
}

func measureMixes(images []Input, requests int, dir string) ([]MixResult, error) {
	var out []MixResult
	for _, mix := range mixes {
		tr := trace(mix, len(images), requests)
		for _, mode := range modes {
			r, err := runMix(images, tr, mode, mix, filepath.Join(dir, "mix-"+mode+"-"+mix))
			if err != nil {
				return nil, fmt.Errorf("mix %s/%s: %w", mode, mix, err)
			}
			out = append(out, r)
			logf("mix %-5s %-10s upload cpu %6.2f s, replay cpu %6.2f s, latency mean %6.2f ms p95 %7.2f ms, served %5.1f MB, stored %5.1f MB, made %d+%d, original %d",
				mix, mode, r.UploadCPU.Seconds(), r.RequestCPU.Seconds(), ms(r.Mean), ms(r.P95),
				float64(r.BytesServed)/1e6, float64(r.StoredBytes)/1e6, r.Precomputed, r.Dynamic, r.FromOriginal)
		}
	}
	return out, nil
}

func runMix(images []Input, tr []mixRequest, mode, mix, dir string) (MixResult, error) {
	r := MixResult{Mode: mode, Mix: mix, Images: len(images), Requests: len(tr)}
	n, err := startNode("mix", dir, func(c *node.Config) { c.Images.Scale = mode })
	if err != nil {
		return r, err
	}
	defer n.Close()
	base := n.URL()
	c0, t0 := cpuTime(), time.Now()
	for _, in := range images {
		if err := put(base, in.Name, in.contentType(), in.Data); err != nil {
			return r, err
		}
	}
	if mode != node.ScaleDynamic {
		for _, in := range images {
			if err := waitPrecomputed(base, in.Name, len(in.variantWidths())); err != nil {
				return r, err
			}
		}
	}
	c1, t1 := cpuTime(), time.Now()
	r.UploadCPU, r.UploadWall = c1-c0, t1.Sub(t0)
	var ds []time.Duration
	for _, q := range tr {
		var hdr []string
		if q.ect != "" {
			hdr = []string{"ECT", q.ect}
		}
		a, err := do("GET", base+"/v1/objects/"+images[q.image].Name+"?"+q.query, nil, hdr...)
		if err != nil {
			return r, err
		}
		ds = append(ds, a.Time)
		r.BytesServed += a.Bytes
		if a.Header.Get("X-Image-Source") == "original" {
			r.FromOriginal++
		}
	}
	r.RequestCPU = cpuTime() - c1
	r.Mean, r.P95 = mean(ds), quantile(ds, 0.95)
	for _, in := range images {
		vl, err := listVariants(base, in.Name)
		if err != nil {
			return r, err
		}
		for _, v := range vl.Variants {
			r.StoredBytes += v.Bytes
			if v.Precomputed {
				r.Precomputed++
			} else {
				r.Dynamic++
			}
		}
	}
	return r, nil
}
