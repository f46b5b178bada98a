package replication

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"metacdn/storage"
)

// source is the server entries came from: the first place to fetch their
// blobs.
type source struct {
	id, url string
}

// fetchCall is one blob fetch in flight; others wanting the same blob wait
// for it rather than fetching it again.
type fetchCall struct {
	done chan struct{}
	err  error
}

// applyWindow bounds the entries applied in one transaction.
const applyWindow = 64

// fetchSlot is one entry on its way: done closes once its blob is stored
// (or found gone, or failed).
type fetchSlot struct {
	e    storage.LogEntry
	done chan struct{}
	gone bool
	err  error
}

// applyEntries applies entries in order, each once its blob is stored.
// Blobs are fetched ahead, FetchConcurrency at a time, while the entries
// whose blobs are in commit in order, applyWindow per transaction. It returns how many entries it stored; gap is
// set when an entry did not follow its origin's head, so the caller
// should pull.
func (r *Replicator) applyEntries(ctx context.Context, src source, entries []storage.LogEntry) (applied int, gap bool, err error) {
	heads, err := r.db.Heads()
	if err != nil {
		return 0, false, fmt.Errorf("heads: %w", err)
	}
	// Entries at or below the head are already here (a push and a pull
	// may carry the same ones): skip them, blobs and all.
	var slots []*fetchSlot
	for _, e := range entries {
		if e.Seq > heads[e.Origin] {
			slots = append(slots, &fetchSlot{e: e, done: make(chan struct{})})
		}
	}
	if len(slots) == 0 {
		return 0, false, nil
	}
	defer func() { r.met.entriesReceived.WithLabelValues(r.peerLabel(src.id)).Add(float64(applied)) }()

	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait()
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		r.fetchAhead(ctx, src, slots, &wg)
	}()

	for i := 0; i < len(slots); {
		// Wait for a whole window: one commit per window rather than per
		// entry keeps a catch-up as fast as ingest. Fetches run on ahead
		// meanwhile.
		j := min(i+applyWindow, len(slots))
		for k := i; k < j; k++ {
			select {
			case <-slots[k].done:
			case <-ctx.Done():
				return applied, false, ctx.Err()
			}
			if err := slots[k].err; err != nil {
				if k == i {
					return applied, false, err
				}
				// Apply what came before the failure.
				j = k
				break
			}
		}
		batch := make([]storage.LogEntry, 0, j-i)
		gone := make([]bool, 0, j-i)
		for _, s := range slots[i:j] {
			batch = append(batch, s.e)
			gone = append(gone, s.gone)
		}
		n, err := r.applyBatch(ctx, src, batch, gone)
		applied += n
		if err != nil {
			return applied, errors.Is(err, storage.ErrLogGap), err
		}
		i = j
	}
	return applied, false, nil
}

// fetchAhead fetches the blobs the slots need, in order, a bounded number
// at once, and closes each slot's done.
func (r *Replicator) fetchAhead(ctx context.Context, src source, slots []*fetchSlot, wg *sync.WaitGroup) {
	sem := make(chan struct{}, r.cfg.FetchConcurrency)
	for i, s := range slots {
		if !r.needsBlob(s.e) {
			close(s.done)
			continue
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			for _, rest := range slots[i:] {
				rest.err = ctx.Err()
				close(rest.done)
			}
			return
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			err := r.ensureBlob(ctx, src, s.e.SHA256)
			if errors.Is(err, errBlobNotFound) {
				// The source freed the blob: a newer entry for the key
				// superseded it, and that entry comes too.
				s.gone = true
				err = nil
			}
			s.err = err
			close(s.done)
		}()
	}
}

// applyBatch applies runs of entries in single transactions and skips
// the gone ones.
func (r *Replicator) applyBatch(ctx context.Context, src source, batch []storage.LogEntry, gone []bool) (applied int, err error) {
	retried := -1
	for i := 0; i < len(batch); {
		if gone[i] {
			r.log.Debug("skip superseded entry", "origin", batch[i].Origin, "seq", batch[i].Seq, "key", batch[i].Key)
			if err := r.db.Skip(batch[i]); err != nil {
				return applied, fmt.Errorf("skip: %w", err)
			}
			applied++
			i++
			continue
		}
		j := i
		for j < len(batch) && !gone[j] {
			j++
		}
		done, err := r.db.ApplyBatch(batch[i:j])
		applied += done
		i += done
		if err == nil {
			continue
		}
		if !errors.Is(err, storage.ErrMissingBlob) || i == retried {
			return applied, err
		}
		// The key's state changed since the check, and the entry now wins:
		// fetch its blob and go on from it.
		retried = i
		switch err := r.ensureBlob(ctx, src, batch[i].SHA256); {
		case errors.Is(err, errBlobNotFound):
			gone[i] = true
		case err != nil:
			return applied, err
		}
	}
	return applied, nil
}

// needsBlob reports whether applying e needs a blob this server lacks. A
// write that loses to the key's current state needs none.
func (r *Replicator) needsBlob(e storage.LogEntry) bool {
	if e.Deleted || e.SHA256 == "" {
		return false
	}
	if ok, err := r.db.HasBlob(e.SHA256); err == nil && ok {
		return false
	}
	if cur, err := r.db.Get(e.Key); err == nil {
		if cur.Version > e.Version || (cur.Version == e.Version && cur.Origin >= e.Origin) {
			return false
		}
	}
	return true
}

// ensureBlob makes sure a blob is stored, fetching it from src, or from
// other live peers when src cannot be reached. It returns an error
// matching errBlobNotFound when src answered that it does not hold it.
func (r *Replicator) ensureBlob(ctx context.Context, src source, sha string) error {
	if ok, err := r.db.HasBlob(sha); err != nil {
		return fmt.Errorf("has blob: %w", err)
	} else if ok {
		return nil
	}
	r.fetchMu.Lock()
	if c, ok := r.fetches[sha]; ok {
		r.fetchMu.Unlock()
		select {
		case <-c.done:
		case <-ctx.Done():
			return ctx.Err()
		}
		if c.err == nil {
			return nil
		}
		return r.ensureBlob(ctx, src, sha)
	}
	c := &fetchCall{done: make(chan struct{})}
	r.fetches[sha] = c
	r.fetchMu.Unlock()

	c.err = r.fetchFromAny(ctx, src, sha)
	r.fetchMu.Lock()
	delete(r.fetches, sha)
	r.fetchMu.Unlock()
	close(c.done)
	return c.err
}

func (r *Replicator) fetchFromAny(ctx context.Context, src source, sha string) error {
	if src.url == "" {
		return r.fetchFromOthers(ctx, src, sha, fmt.Errorf("blob %s: %w", sha, ErrBlobUnavailable))
	}
	err := r.fetchBlob(ctx, src.id, src.url, sha)
	if err == nil || errors.Is(err, errBlobNotFound) || ctx.Err() != nil {
		return err
	}
	r.met.errors.WithLabelValues(r.peerLabel(src.id), "fetch").Inc()
	return r.fetchFromOthers(ctx, src, sha, err)
}

// fetchFromOthers tries every other live peer; it returns first if all fail.
func (r *Replicator) fetchFromOthers(ctx context.Context, src source, sha string, first error) error {
	for _, p := range r.liveSources(src.url) {
		if r.fetchBlob(ctx, p.id, p.url, sha) == nil {
			return nil
		}
		if ctx.Err() != nil {
			break
		}
	}
	return first
}

// liveSources lists the alive members but the one at skip.
func (r *Replicator) liveSources(skip string) []source {
	now := r.cfg.Clock()
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []source
	for id, m := range r.members {
		if m.row.Removed || m.row.URL == skip || r.stateOf(m.lastHeard, m.tracked, now) != StateAlive {
			continue
		}
		out = append(out, source{id: id, url: m.row.URL})
	}
	return out
}
