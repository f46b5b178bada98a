package replication

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"metacdn/storage"
	"metacdn/wire"
)

// Peer states as GET /v1/peers reports them.
const (
	StateAlive   = "alive"
	StateSuspect = "suspect"
	StateDead    = "dead"
)

// member is the runtime state of one other server. Its fields are guarded
// by Replicator.mu; heads is replaced, never changed in place.
type member struct {
	row        storage.Peer
	tracked    time.Time // when this server began to expect heartbeats from it
	lastHeard  time.Time // zero: no heartbeat exchanged yet
	heads      map[string]uint64
	lagEntries uint64
	lagSeconds float64
	pushWake   chan struct{}
	pullWake   chan struct{}
	// revivePush and revivePull cut a back-off short when the member
	// comes back to life.
	revivePush chan struct{}
	revivePull chan struct{}
	stop       func() // stops its loops; nil when none run
	// callCtx bounds the member's pushes and pulls in flight; it is
	// cancelled when the member is found dead, so that calls hung on a
	// silent connection do not outlive the partition that hung them.
	loopCtx    context.Context
	callCtx    context.Context
	callCancel context.CancelFunc
}

// pendingPeer is a server known only by URL until a heartbeat tells its id.
type pendingPeer struct {
	url string
	// explicit marks one an admin added: its row gets a fresh version, so
	// that adding a removed server again overrides its tombstone.
	explicit  bool
	tracked   time.Time
	lastHeard time.Time
}

func newMember(row storage.Peer, now time.Time) *member {
	return &member{row: row, tracked: now, pushWake: make(chan struct{}, 1), pullWake: make(chan struct{}, 1),
		revivePush: make(chan struct{}, 1), revivePull: make(chan struct{}, 1)}
}

// newer orders two versions of one row: the larger version wins; at equal
// versions a tombstone wins, then the larger URL, so every server picks
// the same row.
func newer(a, b storage.Peer) bool {
	if a.Version != b.Version {
		return a.Version > b.Version
	}
	if a.Removed != b.Removed {
		return a.Removed
	}
	if a.URL != b.URL {
		return a.URL > b.URL
	}
	return a.Provider > b.Provider
}

// loadMembers reads the membership table and records this server's row.
func (r *Replicator) loadMembers() error {
	rows, err := r.db.Peers()
	if err != nil {
		return fmt.Errorf("load peers: %w", err)
	}
	now := r.cfg.Clock()
	var self *storage.Peer
	for _, row := range rows {
		r.clock.Observe(row.Version)
		if row.ID == r.cfg.ID {
			self = &row
			continue
		}
		r.members[row.ID] = newMember(row, now)
	}
	switch {
	case self == nil:
		r.self = storage.Peer{ID: r.cfg.ID, URL: r.cfg.URL, Provider: r.cfg.Provider, Version: r.clock.Now()}
	case self.Removed:
		// A removed server keeps its tombstone: only an admin adding it
		// again brings it back, not a restart.
		r.self = *self
	case self.URL != r.cfg.URL || self.Provider != r.cfg.Provider:
		r.self = storage.Peer{ID: r.cfg.ID, URL: r.cfg.URL, Provider: r.cfg.Provider, Version: r.clock.Now()}
	default:
		r.self = *self
	}
	if self == nil || *self != r.self {
		if err := r.db.PutPeer(r.self); err != nil {
			return fmt.Errorf("save self: %w", err)
		}
	}
	for _, u := range r.cfg.Peers {
		u = strings.TrimRight(u, "/")
		if u == r.cfg.URL || r.memberByURLLocked(u, true) != nil {
			continue
		}
		r.pending[u] = &pendingPeer{url: u, tracked: now}
	}
	return nil
}

// memberByURLLocked finds the member at url; withRemoved includes tombstones.
func (r *Replicator) memberByURLLocked(url string, withRemoved bool) *member {
	for _, m := range r.members {
		if m.row.URL == url && (withRemoved || !m.row.Removed) {
			return m
		}
	}
	return nil
}

// mergeLocked takes row if it is newer than what this server holds, saves
// it and starts or stops the member's loops. It reports whether it took it.
func (r *Replicator) mergeLocked(row storage.Peer) (bool, error) {
	if row.ID == "" || strings.ContainsAny(row.ID, "/ \t\n") {
		return false, nil
	}
	row.URL = strings.TrimRight(row.URL, "/")
	if row.Version > r.clock.limit() {
		// From a clock gone wrong, or forged: taken, it would win over
		// every later change of the row, and carry the clock with it.
		return false, nil
	}
	r.clock.Observe(row.Version)
	if row.ID == r.cfg.ID {
		if !newer(row, r.self) {
			return false, nil
		}
		if !row.Removed && (row.URL != r.cfg.URL || row.Provider != r.cfg.Provider) {
			// Re-added with stale details: this server knows its own URL
			// best, so it restates it under a newer version.
			row = storage.Peer{ID: r.cfg.ID, URL: r.cfg.URL, Provider: r.cfg.Provider, Version: r.clock.Now()}
		}
		if err := r.db.PutPeer(row); err != nil {
			return false, fmt.Errorf("save peer: %w", err)
		}
		if row.Removed != r.self.Removed {
			r.log.Warn("membership of this server changed", "removed", row.Removed)
		}
		r.self = row
		return true, nil
	}
	if checkURL(row.URL) != nil && !row.Removed {
		return false, nil
	}
	m, ok := r.members[row.ID]
	if ok && !newer(row, m.row) {
		return false, nil
	}
	if err := r.db.PutPeer(row); err != nil {
		return false, fmt.Errorf("save peer: %w", err)
	}
	if !ok {
		m = newMember(row, r.cfg.Clock())
		r.members[row.ID] = m
	} else {
		if m.row.Removed && !row.Removed {
			m.tracked, m.lastHeard, m.heads = r.cfg.Clock(), time.Time{}, nil
		}
		m.row = row
	}
	if row.Removed {
		r.stopLoopsLocked(m)
		r.met.forget(row.ID)
		r.log.Info("peer removed", "peer", row.ID, "url", row.URL)
	} else {
		delete(r.pending, row.URL)
		r.startLoopsLocked(m)
		if !ok {
			r.log.Info("peer added", "peer", row.ID, "url", row.URL, "provider", row.Provider)
		}
	}
	return true, nil
}

// stateOf is a peer's state from the time since the last heartbeat;
// tracked is when this server began to expect one.
func (r *Replicator) stateOf(lastHeard, tracked, now time.Time) string {
	iv := r.cfg.HeartbeatInterval
	if lastHeard.IsZero() {
		if now.Sub(tracked) >= time.Duration(r.cfg.DeadAfter)*iv {
			return StateDead
		}
		return StateSuspect
	}
	since := now.Sub(lastHeard)
	switch {
	case since >= time.Duration(r.cfg.DeadAfter)*iv:
		return StateDead
	case since >= time.Duration(r.cfg.SuspectAfter)*iv:
		return StateSuspect
	}
	return StateAlive
}

// heartbeat is this server's heartbeat: itself, its whole table and heads.
func (r *Replicator) heartbeat() (*wire.Heartbeat, error) {
	heads, err := r.db.Heads()
	if err != nil {
		return nil, fmt.Errorf("heads: %w", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	hb := &wire.Heartbeat{Self: rowToWire(r.self), Heads: heads}
	hb.Peers = append(hb.Peers, rowToWire(r.self))
	for _, id := range slices.Sorted(maps.Keys(r.members)) {
		hb.Peers = append(hb.Peers, rowToWire(r.members[id].row))
	}
	return hb, nil
}

// observe takes in a heartbeat from another server: the one it answered
// (via is the URL this server called) or the one it sent (via is empty).
// It resolves a pending URL to an id, merges the rows, records the time
// and the heads, and wakes a pull when the other server is ahead.
func (r *Replicator) observe(hb *wire.Heartbeat, via string) error {
	self := hb.GetSelf()
	id := self.GetId()
	if id == "" {
		return fmt.Errorf("heartbeat without id: %w", wire.ErrMalformed)
	}
	ours, err := r.db.Heads()
	if err != nil {
		return fmt.Errorf("heads: %w", err)
	}
	now := r.cfg.Clock()
	r.mu.Lock()
	defer r.mu.Unlock()
	if id == r.cfg.ID {
		// The configured peer list named this server itself.
		delete(r.pending, via)
		for _, row := range hb.GetPeers() {
			if _, err := r.mergeLocked(rowFromWire(row)); err != nil {
				return err
			}
		}
		return nil
	}
	selfURL := strings.TrimRight(self.GetUrl(), "/")
	for _, u := range []string{via, selfURL} {
		p, ok := r.pending[u]
		if u == "" || !ok {
			continue
		}
		delete(r.pending, u)
		if p.explicit {
			row := rowFromWire(self)
			row.Removed = false
			row.Version = r.clock.Now()
			if _, err := r.mergeLocked(row); err != nil {
				return err
			}
		}
	}
	if _, err := r.mergeLocked(rowFromWire(self)); err != nil {
		return err
	}
	for _, row := range hb.GetPeers() {
		if _, err := r.mergeLocked(rowFromWire(row)); err != nil {
			return err
		}
	}
	m, ok := r.members[id]
	if !ok || m.row.Removed {
		return nil
	}
	if r.stateOf(m.lastHeard, m.tracked, now) != StateAlive {
		wake(m.pushWake)
		wake(m.revivePush)
		wake(m.revivePull)
	}
	m.lastHeard = now
	// Non-nil even when empty: nil means "not known yet".
	m.heads = maps.Clone(hb.GetHeads())
	if m.heads == nil {
		m.heads = map[string]uint64{}
	}
	r.met.lastHeartbeat.WithLabelValues(id).Set(float64(now.UnixNano()) / 1e9)
	if ahead(m.heads, ours) {
		wake(m.pullWake)
	}
	return nil
}

// ahead reports whether theirs holds an entry ours lacks.
func ahead(theirs, ours map[string]uint64) bool {
	for o, h := range theirs {
		if h > ours[o] {
			return true
		}
	}
	return false
}

// refreshLag computes how far a member is behind this server: entries it
// has not acknowledged, and the age of the oldest of them.
func (r *Replicator) refreshLag(id string) {
	r.mu.Lock()
	m, ok := r.members[id]
	var theirs map[string]uint64
	if ok {
		theirs = m.heads
	}
	r.mu.Unlock()
	if !ok || theirs == nil {
		return
	}
	ours, err := r.db.Heads()
	if err != nil {
		return
	}
	now := r.cfg.Clock()
	var entries uint64
	var oldest time.Time
	for o, h := range ours {
		if h <= theirs[o] {
			continue
		}
		entries += h - theirs[o]
		es, err := r.db.ReadLog(o, theirs[o], 1)
		if err != nil || len(es) == 0 {
			continue
		}
		if t := es[0].Modified; !t.IsZero() && (oldest.IsZero() || t.Before(oldest)) {
			oldest = t
		}
	}
	var secs float64
	if !oldest.IsZero() {
		secs = max(0, now.Sub(oldest).Seconds())
	}
	r.mu.Lock()
	if m.heads != nil && !m.row.Removed {
		m.lagEntries, m.lagSeconds = entries, secs
		r.met.lagEntries.WithLabelValues(id).Set(float64(entries))
		r.met.lagSeconds.WithLabelValues(id).Set(secs)
	}
	r.mu.Unlock()
}

// setHeads records heads a member reported in a push or pull answer.
func (r *Replicator) setHeads(m *member, heads map[string]uint64) {
	r.mu.Lock()
	m.heads = maps.Clone(heads)
	if m.heads == nil {
		m.heads = map[string]uint64{}
	}
	r.mu.Unlock()
}
