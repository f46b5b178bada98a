package replication

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"golang.org/x/sync/errgroup"

	"metacdn/storage"
	"metacdn/wire"
)

// heartbeatFanout bounds the heartbeats in flight at once.
const heartbeatFanout = 8

func (r *Replicator) heartbeatLoop(ctx context.Context) {
	t := time.NewTicker(r.cfg.HeartbeatInterval)
	defer t.Stop()
	for {
		r.heartbeatRound(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-r.hbWake:
		}
	}
}

type target struct {
	id, url string
}

// heartbeatRound sends one heartbeat to every live member and every
// server known only by URL, and takes in their answers.
func (r *Replicator) heartbeatRound(ctx context.Context) {
	hb, err := r.heartbeat()
	if err != nil {
		r.log.Warn("heartbeat", "err", err)
		return
	}
	r.mu.Lock()
	var targets []target
	for id, m := range r.members {
		if !m.row.Removed {
			targets = append(targets, target{id: id, url: m.row.URL})
		}
	}
	for u := range r.pending {
		targets = append(targets, target{url: u})
	}
	r.mu.Unlock()

	timeout := min(max(r.cfg.HeartbeatInterval, time.Second), 10*time.Second)
	g := new(errgroup.Group)
	g.SetLimit(heartbeatFanout)
	for _, t := range targets {
		g.Go(func() error {
			cctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			var resp wire.Heartbeat
			if err := r.call(cctx, t.id, t.url, "heartbeat", hb, &resp); err != nil {
				if ctx.Err() == nil {
					r.met.errors.WithLabelValues(r.peerLabel(t.id), "heartbeat").Inc()
					r.log.Debug("heartbeat failed", "peer", t.id, "url", t.url, "err", err)
				}
				return nil
			}
			if err := r.observe(&resp, t.url); err != nil {
				r.log.Warn("heartbeat answer", "peer", t.id, "url", t.url, "err", err)
			}
			return nil
		})
	}
	g.Wait()
	// Every member, answering or not: the lag of a dead peer grows from
	// the heads it last reported.
	for _, t := range targets {
		if t.id != "" {
			r.refreshLag(t.id)
		}
	}
	r.refreshStates()
}

// refreshStates sets the peer_up gauge from each member's state.
func (r *Replicator) refreshStates() {
	now := r.cfg.Clock()
	r.mu.Lock()
	defer r.mu.Unlock()
	for id, m := range r.members {
		if m.row.Removed {
			continue
		}
		v := 0.0
		switch r.stateOf(m.lastHeard, m.tracked, now) {
		case StateAlive:
			v = 1
		case StateSuspect:
			v = 0.5
		case StateDead:
			r.abandonCallsLocked(m)
		}
		r.met.alive.WithLabelValues(id).Set(v)
	}
}

// memberView is what a loop needs to know about its member right now.
type memberView struct {
	id, url     string
	state       string
	heads       map[string]uint64 // nil: unknown
	selfRemoved bool
}

func (r *Replicator) view(m *member) memberView {
	now := r.cfg.Clock()
	r.mu.Lock()
	defer r.mu.Unlock()
	return memberView{
		id: m.row.ID, url: m.row.URL, state: r.stateOf(m.lastHeard, m.tracked, now),
		heads: m.heads, selfRemoved: r.self.Removed,
	}
}

// pushLoop sends this server's new entries to one member whenever a local
// commit wakes it, and every heartbeat interval in case a wake was lost.
func (r *Replicator) pushLoop(ctx context.Context, m *member) {
	t := time.NewTicker(r.cfg.HeartbeatInterval)
	defer t.Stop()
	bo := backoff{base: r.cfg.HeartbeatInterval / 4}
	for {
		select {
		case <-ctx.Done():
			return
		case <-m.pushWake:
		case <-t.C:
		}
		for ctx.Err() == nil {
			more, err := r.pushOnce(ctx, m)
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				v := r.view(m)
				r.met.errors.WithLabelValues(v.id, "push").Inc()
				r.log.Debug("push failed", "peer", v.id, "err", err)
				if !sleep(ctx, bo.next(), m.revivePush) {
					return
				}
				continue
			}
			bo.reset()
			if !more {
				break
			}
		}
	}
}

// pushOnce sends one batch; more reports that entries remain to send.
func (r *Replicator) pushOnce(ctx context.Context, m *member) (more bool, err error) {
	v := r.view(m)
	if v.selfRemoved || v.state == StateDead {
		return false, nil
	}
	heads, err := r.db.Heads()
	if err != nil {
		return false, fmt.Errorf("heads: %w", err)
	}
	ours := heads[r.cfg.ID]
	theirs, known := v.heads[r.cfg.ID], v.heads != nil
	if known && theirs >= ours {
		return false, nil
	}
	req := &wire.PushRequest{From: r.cfg.ID}
	// Unknown heads: an empty push asks for them, so that nothing the
	// member already holds is sent again.
	if known {
		entries, err := r.db.ReadLog(r.cfg.ID, theirs, r.cfg.PushBatch)
		if err != nil {
			return false, fmt.Errorf("read log: %w", err)
		}
		var bytes int64
		for i, e := range entries {
			bytes += e.Size
			if i > 0 && bytes > r.cfg.PushBatchBytes {
				break
			}
			req.Entries = append(req.Entries, entryToWire(e))
		}
	}
	cctx, cancel := context.WithTimeout(r.callContext(ctx, m), r.cfg.PushTimeout)
	defer cancel()
	var resp wire.PushResponse
	if err := r.call(cctx, v.id, v.url, "push", req, &resp); err != nil {
		return false, err
	}
	r.setHeads(m, resp.GetHeads())
	got := resp.GetHeads()[r.cfg.ID]
	if got > theirs {
		r.met.entriesShipped.WithLabelValues(v.id).Add(float64(got - theirs))
	}
	r.refreshLag(v.id)
	if len(req.Entries) > 0 && got == theirs {
		return false, fmt.Errorf("push: %s applied none of %d entries", v.id, len(req.Entries))
	}
	return got < ours, nil
}

// pullLoop asks one member for the entries this server lacks: at once on
// start (catch-up), when a heartbeat shows the member ahead, and every
// heartbeat interval (anti-entropy: a lost push costs one interval).
func (r *Replicator) pullLoop(ctx context.Context, m *member) {
	t := time.NewTicker(r.cfg.HeartbeatInterval)
	defer t.Stop()
	bo := backoff{base: r.cfg.HeartbeatInterval / 4}
	for {
		if err := r.pullFrom(ctx, m); err != nil {
			if ctx.Err() != nil {
				return
			}
			v := r.view(m)
			r.met.errors.WithLabelValues(v.id, "pull").Inc()
			r.log.Debug("pull failed", "peer", v.id, "err", err)
			if !sleep(ctx, bo.next(), m.revivePull) {
				return
			}
			continue
		}
		bo.reset()
		select {
		case <-ctx.Done():
			return
		case <-m.pullWake:
		case <-t.C:
		}
	}
}

// pullFrom pulls from one member until it has nothing more for this server.
func (r *Replicator) pullFrom(ctx context.Context, m *member) error {
	v := r.view(m)
	if v.selfRemoved || v.state == StateDead {
		return nil
	}
	select {
	case r.pullSem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-r.pullSem }()
	ctx = r.callContext(ctx, m)
	for {
		heads, err := r.db.Heads()
		if err != nil {
			return fmt.Errorf("heads: %w", err)
		}
		req := &wire.PullRequest{From: r.cfg.ID, Cursors: heads, Limit: uint32(r.cfg.PullLimit)}
		var resp wire.PullResponse
		cctx, cancel := context.WithTimeout(ctx, r.cfg.CallTimeout)
		err = r.call(cctx, v.id, v.url, "pull", req, &resp)
		cancel()
		if err != nil {
			return err
		}
		r.setHeads(m, resp.GetHeads())
		entries := make([]storage.LogEntry, 0, len(resp.GetEntries()))
		for _, e := range resp.GetEntries() {
			entries = append(entries, entryFromWire(e))
		}
		if len(entries) > 0 {
			n, _, err := r.applyEntries(ctx, source{id: v.id, url: v.url}, entries)
			if n > 0 {
				r.log.Debug("pulled", "peer", v.id, "entries", n)
			}
			if err != nil {
				return err
			}
		}
		if !resp.GetMore() || len(entries) == 0 {
			r.refreshLag(v.id)
			return nil
		}
	}
}

// readAfter reads up to limit entries after the cursors, origin by origin
// in a fixed order; more reports that entries remain.
func (r *Replicator) readAfter(cursors map[string]uint64, limit int) (entries []storage.LogEntry, heads map[string]uint64, more bool, err error) {
	heads, err = r.db.Heads()
	if err != nil {
		return nil, nil, false, fmt.Errorf("heads: %w", err)
	}
	for _, o := range slices.Sorted(maps.Keys(heads)) {
		c := cursors[o]
		if heads[o] <= c {
			continue
		}
		if len(entries) >= limit {
			more = true
			break
		}
		es, err := r.db.ReadLog(o, c, limit-len(entries))
		if err != nil {
			return nil, nil, false, fmt.Errorf("read log %s: %w", o, err)
		}
		entries = append(entries, es...)
		if len(es) == 0 {
			return nil, nil, false, fmt.Errorf("read log %s after %d: %w", o, c, errEmptyLog)
		}
		if es[len(es)-1].Seq < heads[o] {
			more = true
		}
	}
	return entries, heads, more, nil
}

// errEmptyLog is returned when the log holds nothing after a cursor below
// its head, which only a damaged log would do.
var errEmptyLog = errors.New("log has no entries below its head")
