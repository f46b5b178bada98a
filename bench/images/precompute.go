package main

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"time"

	"metacdn/scaler"
	"metacdn/storage"
)

// PrecomputeResult is the cost of precomputing one input's variants as the
// node's worker does: one ResizeAll, then PutVariant for each width.
type PrecomputeResult struct {
	Input        string
	MP           float64
	OrigBytes    int64
	Widths       []int
	VariantBytes map[int]int64
	StoredBytes  int64         // all variants
	CPU          time.Duration // median over reps, resize and store
	Wall         time.Duration
	StoreWall    time.Duration // median of the PutVariant part alone
}

// measurePrecompute runs reps precomputes per input against a real bbolt
// file, after one warm-up.
func measurePrecompute(inputs []Input, reps int, dir string) ([]PrecomputeResult, error) {
	db, err := storage.Open(filepath.Join(dir, "precompute.db"), storage.Options{NodeID: "bench", SweepInterval: -1})
	if err != nil {
		return nil, err
	}
	defer db.Close()
	var out []PrecomputeResult
	for _, in := range inputs {
		obj, err := db.Put(context.Background(), storage.PutRequest{Key: in.Name, ContentType: in.contentType(), Body: bytes.NewReader(in.Data)})
		if err != nil {
			return nil, err
		}
		r := PrecomputeResult{Input: in.Name, MP: in.MP(), OrigBytes: int64(len(in.Data)), Widths: in.variantWidths(), VariantBytes: map[int]int64{}}
		var cpus, walls, stores []time.Duration
		for rep := -1; rep < reps; rep++ {
			runtime.GC() // each rep starts from the same heap, as a worker between uploads
			c0, t0 := cpuTime(), time.Now()
			res, _, err := scaler.ResizeAll(in.Data, widths, scaler.Options{})
			if err != nil {
				return nil, fmt.Errorf("%s: %w", in.Name, err)
			}
			s0 := time.Now()
			for _, v := range res {
				if err := db.PutVariant(storage.Variant{SourceSHA256: obj.SHA256, Width: v.Width, Height: v.Height,
					ContentType: v.ContentType, Precomputed: true, Data: v.Data}); err != nil {
					return nil, err
				}
			}
			c1, t1 := cpuTime(), time.Now()
			if rep < 0 {
				for _, v := range res {
					r.VariantBytes[v.Width] = int64(len(v.Data))
					r.StoredBytes += int64(len(v.Data))
				}
				continue
			}
			cpus, walls, stores = append(cpus, c1-c0), append(walls, t1.Sub(t0)), append(stores, t1.Sub(s0))
		}
		r.CPU, r.Wall, r.StoreWall = median(cpus), median(walls), median(stores)
		out = append(out, r)
		logf("precompute %-16s %5.1f MP: cpu %7.1f ms, wall %7.1f ms (store %.1f ms), %d variants %d B (%.1f%% of %d B)",
			in.Name, in.MP(), ms(r.CPU), ms(r.Wall), ms(r.StoreWall), len(r.Widths), r.StoredBytes,
			100*float64(r.StoredBytes)/float64(r.OrigBytes), r.OrigBytes)
	}
	return out, nil
}
