package storage

import (
	"math/bits"
	"sync"
)

// Read buffers come from pools by power-of-two size class, from
// readBufMin to readWindow: a GET of a 1 MiB object used to allocate its
// MiB on every request, and the garbage collection that followed cost
// more than copying the bytes (37% of a server's CPU profile).
const readBufMin = 4 << 10

// readBufClasses covers readBufMin << 0 ... readBufMin << 8 = readWindow;
// init checks the two agree.
const readBufClasses = 9

var readBufs [readBufClasses]sync.Pool

func init() {
	if readBufMin<<(readBufClasses-1) != readWindow {
		panic("storage: readBufClasses does not reach readWindow")
	}
}

// readBufClass returns the class of the smallest pooled buffer holding n
// bytes (n <= readWindow).
func readBufClass(n int) int {
	if n <= readBufMin {
		return 0
	}
	return bits.Len(uint((n - 1) / readBufMin))
}

// getReadBuf returns a buffer of length n from the pool of its class.
func getReadBuf(n int) *[]byte {
	c := readBufClass(n)
	if p, ok := readBufs[c].Get().(*[]byte); ok {
		*p = (*p)[:n]
		return p
	}
	b := make([]byte, n, readBufMin<<c)
	return &b
}

// putReadBuf returns a buffer from getReadBuf; nothing may use it after.
func putReadBuf(p *[]byte) {
	readBufs[readBufClass(cap(*p))].Put(p)
}
