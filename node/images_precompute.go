package node

import (
	"errors"
	"time"

	"metacdn/scaler"
	"metacdn/storage"
)

// sweepPage is how many log entries one read of the sweep takes.
const sweepPage = 512

// enqueue queues the precompute of sha unless it is queued already. With
// wait it blocks until there is room (the sweep, which has time); without
// it a full queue drops the job and enqueue reports false.
func (s *imageService) enqueue(sha string, wait bool) bool {
	s.queuedMu.Lock()
	if s.queued[sha] {
		s.queuedMu.Unlock()
		return true
	}
	s.queued[sha] = true
	s.queuedMu.Unlock()
	var done <-chan struct{} // nil: never, so a full queue blocks
	if wait {
		done = s.ctx.Done()
	} else {
		select {
		case s.jobs <- sha:
			return true
		default:
			s.unqueue(sha)
			return false
		}
	}
	select {
	case s.jobs <- sha:
		return true
	case <-done:
		s.unqueue(sha)
		return false
	}
}

func (s *imageService) unqueue(sha string) {
	s.queuedMu.Lock()
	delete(s.queued, sha)
	s.queuedMu.Unlock()
}

func (s *imageService) precomputeLoop() {
	for {
		select {
		case <-s.ctx.Done():
			return
		case sha := <-s.jobs:
			s.precompute(sha)
			s.unqueue(sha)
		}
	}
}

// precompute makes the configured widths of sha that are narrower than the
// original and not stored yet, from one decode, and stores them as
// precomputed variants. Failures are logged and counted: the image is
// still served as it is.
func (s *imageService) precompute(sha string) {
	info, err := s.probe(sha)
	if err != nil {
		if !errIsNotFound(err) {
			s.precomputeFailed(sha, err)
		}
		return
	}
	missing, err := s.missingWidths(sha, scaler.Widths(info.Width, s.cfg.Widths))
	if err != nil || len(missing) == 0 {
		return
	}
	// Precompute shares the request path's slots, so that the cap on
	// concurrent decodes, and so on memory, holds for both; it waits
	// for one where a request would get 503.
	if err := s.limiter.Acquire(s.ctx); err != nil {
		return
	}
	defer s.limiter.Release()
	cost := info.DecodeBytes()
	if err := s.budget.Take(s.ctx, cost); err != nil {
		if errors.Is(err, scaler.ErrOverBudget) {
			s.precomputeFailed(sha, err)
		}
		return
	}
	defer s.budget.Give(cost)
	src, err := s.readBlob(sha)
	if err != nil {
		if !errIsNotFound(err) {
			s.precomputeFailed(sha, err)
		}
		return
	}
	start := time.Now()
	results, _, err := scaler.ResizeAll(src, missing, scaler.Options{Limits: s.limits})
	s.met.resizeSeconds.WithLabelValues(sourcePrecomputed).Observe(time.Since(start).Seconds())
	s.met.made.WithLabelValues(sourcePrecomputed).Add(float64(len(results)))
	for _, res := range results {
		v := storage.Variant{
			SourceSHA256: sha, Width: res.Width, Height: res.Height,
			ContentType: res.ContentType, Precomputed: true, Data: res.Data,
		}
		if perr := s.db.PutVariant(v); perr != nil {
			if !errIsNotFound(perr) {
				s.log.Warn("store precomputed variant", "sha256", sha, "width", res.Width, "err", perr)
			}
			return
		}
	}
	if err != nil {
		s.markBad(sha, err)
		s.precomputeFailed(sha, err)
		return
	}
	s.log.Debug("precomputed variants", "sha256", sha, "widths", missing, "duration", time.Since(start))
}

func (s *imageService) precomputeFailed(sha string, err error) {
	s.met.precomputeFailed.Inc()
	if isContentError(err) {
		s.log.Info("not precomputing variants", "sha256", sha, "err", err)
		return
	}
	if !errors.Is(err, storage.ErrClosed) {
		s.log.Warn("precompute variants", "sha256", sha, "err", err)
	}
}

// missingWidths returns the widths of want without a precomputed variant.
func (s *imageService) missingWidths(sha string, want []int) ([]int, error) {
	if len(want) == 0 {
		return nil, nil
	}
	have, err := s.db.Variants(sha)
	if err != nil {
		return nil, err
	}
	pre := make(map[int]bool, len(have))
	for _, v := range have {
		if v.Precomputed {
			pre[v.Width] = true
		}
	}
	var out []int
	for _, w := range want {
		if !pre[w] {
			out = append(out, w)
		}
	}
	return out, nil
}

// sweepLoop precomputes variants for images that arrived without an
// upload on this server: replicated from peers, or uploaded here before a
// crash or a full queue dropped the job. storage calls OnAppend for
// replicated writes too, but without saying which key, and node wires
// that hook to replication; reading the log itself keeps this
// self-contained. The first pass reads the whole log, later ones what was
// appended since.
func (s *imageService) sweepLoop() {
	cursors := make(map[string]uint64)
	t := time.NewTicker(s.cfg.SweepInterval)
	defer t.Stop()
	for {
		if err := s.sweep(cursors); err != nil {
			if errors.Is(err, storage.ErrClosed) {
				return
			}
			s.log.Warn("image sweep", "err", err)
		}
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
		case <-s.kicks:
		}
	}
}

// kick asks for a sweep now rather than at the next tick, without
// blocking: storage's OnAppend, which fires for replicated writes too, may
// call it so that a replica's variants follow the write within
// milliseconds instead of SweepInterval.
func (s *imageService) kick() {
	select {
	case s.kicks <- struct{}{}:
	default: // a sweep is already due
	}
}

// sweep queues every image write in the log past cursors (seq per origin)
// and advances them.
func (s *imageService) sweep(cursors map[string]uint64) error {
	heads, err := s.db.Heads()
	if err != nil {
		return err
	}
	for origin, head := range heads {
		for cursors[origin] < head {
			entries, err := s.db.ReadLog(origin, cursors[origin], sweepPage)
			if err != nil {
				return err
			}
			if len(entries) == 0 {
				break
			}
			for _, e := range entries {
				if !e.Deleted && maybeImage(e.ContentType) && !s.enqueue(e.SHA256, true) {
					return nil // closing
				}
				cursors[origin] = e.Seq
			}
		}
	}
	return nil
}
