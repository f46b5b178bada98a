package storage

import (
	"fmt"
	"sync"
	"time"
)

// hlc is a hybrid logical clock: a timestamp is wall milliseconds << 16 |
// a logical counter. It stays close to wall time, so last-writer-wins
// picks the write a person would call last, yet never goes backwards and
// always passes every timestamp it has seen, so causally later writes win
// even across servers whose clocks disagree.
type hlc struct {
	mu   sync.Mutex
	last uint64
	wall func() time.Time
}

func newHLC(wall func() time.Time) *hlc {
	return &hlc{wall: wall}
}

// next returns a timestamp greater than every one issued or observed and
// greater than floor (the current version of the key being written).
func (c *hlc) next(floor uint64) uint64 {
	pt := uint64(c.wall().UnixMilli()) << 16
	c.mu.Lock()
	defer c.mu.Unlock()
	v := max(pt, c.last+1, floor+1)
	c.last = v
	return v
}

// observe moves the clock past v, a timestamp from another server.
func (c *hlc) observe(v uint64) {
	c.mu.Lock()
	if v > c.last {
		c.last = v
	}
	c.mu.Unlock()
}

// maxLead bounds how far ahead of this server's wall clock a timestamp
// from another server may be. One near the top of the range would carry
// the clock with it for good, and the next local write would wrap past
// the top to a version that loses to everything. A day is more skew than
// any server with a working clock has.
const maxLead = 24 * time.Hour

// checkLead refuses a timestamp more than maxLead ahead of the wall clock
// (ErrInvalid). The bound is in wall nanoseconds, not milliseconds << 16:
// the clock also observes the membership table's versions (PutPeer), which
// are nanoseconds, so a cluster's versions run on that larger scale.
func (c *hlc) checkLead(v uint64) error {
	if limit := uint64(c.wall().Add(maxLead).UnixNano()); v > limit {
		return fmt.Errorf("version %d is more than %v ahead of this server's clock: %w", v, maxLead, ErrInvalid)
	}
	return nil
}
