package router

import (
	"hash/maphash"
	"sync/atomic"
)

// sizeCache remembers the body size of recent GET answers so that the
// network policy can weigh throughput for an object it has seen before.
// It is direct-mapped: a colliding key simply replaces the older one, so
// lookups and stores take no lock and memory stays fixed.
type sizeCache struct {
	seed  maphash.Seed
	slots [sizeSlots]atomic.Pointer[sizeEntry]
}

const sizeSlots = 4096

type sizeEntry struct {
	hash uint64
	size int64
}

func (c *sizeCache) hash(path, query string) uint64 {
	if c.seed == (maphash.Seed{}) {
		return 0
	}
	h := maphash.String(c.seed, path)
	if query != "" {
		h ^= maphash.String(c.seed, query) * 0x9e3779b97f4a7c15
	}
	return h
}

// get returns the remembered size, or -1.
func (c *sizeCache) get(path, query string) int64 {
	h := c.hash(path, query)
	if e := c.slots[h%sizeSlots].Load(); e != nil && e.hash == h {
		return e.size
	}
	return -1
}

func (c *sizeCache) put(path, query string, size int64) {
	h := c.hash(path, query)
	slot := &c.slots[h%sizeSlots]
	if e := slot.Load(); e != nil && e.hash == h && e.size == size {
		return // unchanged: no allocation
	}
	slot.Store(&sizeEntry{hash: h, size: size})
}
