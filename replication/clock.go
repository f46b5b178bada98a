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

// maxLead bounds how far ahead of this server's wall clock a version from
// another server may be; see limit.
const maxLead = 24 * time.Hour

// limit is the largest version taken from another server: a day past the
// wall clock, more skew than a server with a working clock has. A version
// near the top of the range would otherwise win every later change and
// wrap the clock past the top.
func (c *hlc) limit() uint64 {
	return uint64(c.now().Add(maxLead).UnixNano())
}
