package storage

import (
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
