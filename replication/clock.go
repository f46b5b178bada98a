package replication

import (
	"sync"
	"time"
)

// hlc is a hybrid logical clock for membership versions: wall nanoseconds,
// but never behind a version it has seen, so that a change made here after
// seeing a remote change always orders after it, whatever the clocks say.
type hlc struct {
	mu   sync.Mutex
	now  func() time.Time
	last uint64
}

// Now returns a version larger than every one returned or observed before.
func (c *hlc) Now() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	v := uint64(c.now().UnixNano())
	if v <= c.last {
		v = c.last + 1
	}
	c.last = v
	return v
}

// Observe records a version seen elsewhere.
func (c *hlc) Observe(v uint64) {
	c.mu.Lock()
	if v > c.last {
		c.last = v
	}
	c.mu.Unlock()
}
