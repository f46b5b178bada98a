package node

import (
	"context"
	"errors"
	"strconv"
	"time"

	"metacdn/scaler"
	"metacdn/storage"
)

// resize makes the variant of sha at width on request, keeps it as a
// dynamic variant and returns it. Concurrent calls for the same source and
// width share one resize. With every Limiter slot taken it fails at once
// with scaler.ErrBusy rather than queueing decodes of tens of megabytes.
// ctx is not passed into the resize: once started it finishes and is kept,
// whoever is still waiting.
func (s *imageService) resize(ctx context.Context, sha string, info scaler.Info, width int) (storage.Variant, error) {
	ch := s.flight.DoChan(sha+"/"+strconv.Itoa(width), func() (any, error) {
		return s.resizeOnce(sha, info, width)
	})
	select {
	case res := <-ch:
		if res.Shared {
			s.met.collapsed.Inc()
		}
		if res.Err != nil {
			return storage.Variant{}, res.Err
		}
		return res.Val.(storage.Variant), nil
	case <-ctx.Done():
		return storage.Variant{}, ctx.Err()
	}
}

func (s *imageService) resizeOnce(sha string, info scaler.Info, width int) (storage.Variant, error) {
	// A flight that ended between the caller's GetVariant and this one
	// has stored the variant already.
	if v, err := s.db.GetVariant(sha, width); err == nil {
		return v, nil
	}
	if !s.limiter.TryAcquire() {
		return storage.Variant{}, scaler.ErrBusy
	}
	defer s.limiter.Release()
	cost := info.DecodeBytes()
	if err := s.budget.TryTake(cost); err != nil {
		return storage.Variant{}, err
	}
	defer s.budget.Give(cost)
	src, err := s.readBlob(sha)
	if err != nil {
		return storage.Variant{}, err
	}
	start := time.Now()
	res, err := scaler.Resize(src, width, scaler.Options{Limits: s.limits})
	s.met.resizeSeconds.WithLabelValues(sourceDynamic).Observe(time.Since(start).Seconds())
	if err != nil {
		s.markBad(sha, err)
		return storage.Variant{}, err
	}
	v := storage.Variant{
		SourceSHA256: sha, Width: res.Width, Height: res.Height,
		ContentType: res.ContentType, Data: res.Data,
	}
	s.met.made.WithLabelValues(sourceDynamic).Inc()
	if err := s.db.PutVariant(v); err != nil {
		// Still worth serving: the source was deleted or the disk is
		// full, neither of which is the client's concern now.
		s.log.Warn("keep dynamic variant", "sha256", sha, "width", width, "err", err)
		return v, nil
	}
	s.evict()
	return v, nil
}

// evict deletes the oldest dynamic variants past the cap.
func (s *imageService) evict() {
	s.evictMu.Lock()
	defer s.evictMu.Unlock()
	n, err := s.db.CountDynamicVariants()
	if err != nil || n <= s.cfg.MaxDynamicVariants {
		return
	}
	refs, err := s.db.DynamicVariants(n - s.cfg.MaxDynamicVariants)
	if err != nil {
		s.log.Warn("list dynamic variants", "err", err)
		return
	}
	for _, ref := range refs {
		if err := s.db.DeleteVariant(ref.SourceSHA256, ref.Width); err != nil && !errors.Is(err, storage.ErrNotFound) {
			s.log.Warn("evict dynamic variant", "sha256", ref.SourceSHA256, "width", ref.Width, "err", err)
			return
		}
		s.met.evicted.Inc()
	}
}
