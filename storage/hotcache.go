package storage

import (
	"sync"
	"sync/atomic"
)

// Bounds of the hot-object cache.
const (
	// DefaultHotCacheBytes is the cache's budget when Options.HotCacheBytes
	// is zero.
	DefaultHotCacheBytes = 32 << 20
	// hotObjectMax is the largest object the cache keeps: a small object's
	// read transaction (bucket opens, cursor, decode) costs as much as
	// sending it, a large one's is noise beside its transfer.
	hotObjectMax = 64 << 10
)

// hotCache keeps the metadata and bytes of small objects that were read,
// so that a hot object is served without a read transaction.
//
// It is never stale after a write returns: every write transaction clears
// it once committed (update), and a reader adds what it read only if no
// write cleared the cache since the reader began (gen), under the same
// lock. Writes are rare against reads on a CDN, so clearing all of it is
// cheaper than tracking which keys a transaction changed.
type hotCache struct {
	max int64 // budget in bytes; zero disables the cache

	mu   sync.Mutex
	gen  uint64 // bumped by every clear
	used int64
	m    map[string]hotEntry
}

type hotEntry struct {
	obj  Object
	set  uint64
	data []byte
	memo *memo
}

// memo holds what a reader's caller derived from a cached object's state
// (BlobReader.SetMemo); it lives and dies with the cache entry.
type memo struct{ v atomic.Pointer[any] }

func newHotCache(max int64) *hotCache {
	return &hotCache{max: max, m: make(map[string]hotEntry)}
}

// generation is read before a read transaction; add compares it.
func (c *hotCache) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

func (c *hotCache) get(key string) (hotEntry, bool) {
	if c.max <= 0 {
		return hotEntry{}, false
	}
	c.mu.Lock()
	e, ok := c.m[key]
	c.mu.Unlock()
	return e, ok
}

// add keeps what a reader read at generation gen, unless a write cleared
// the cache since then, and reports whether it did. data must not be
// modified afterwards.
func (c *hotCache) add(gen uint64, e hotEntry) bool {
	size := int64(len(e.data)) + int64(len(e.obj.Key))
	if c.max <= 0 || len(e.data) > hotObjectMax || size > c.max {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return false
	}
	if old, ok := c.m[e.obj.Key]; ok {
		c.used -= int64(len(old.data)) + int64(len(old.obj.Key))
	}
	// Over budget: drop entries in map order, which Go randomises, so
	// eviction is random; a hot object comes back on its next read.
	for k, old := range c.m {
		if c.used+size <= c.max {
			break
		}
		c.used -= int64(len(old.data)) + int64(len(k))
		delete(c.m, k)
	}
	c.m[e.obj.Key] = e
	c.used += size
	return true
}

// clear drops everything and moves to a new generation.
func (c *hotCache) clear() {
	if c.max <= 0 {
		return
	}
	c.mu.Lock()
	c.gen++
	if len(c.m) > 0 {
		clear(c.m)
		c.used = 0
	}
	c.mu.Unlock()
}
