//go:build linux

package storage

import (
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

var pageSize = uintptr(os.Getpagesize())

// adviseReads turns willNeed off for benchmarks that measure its effect.
var adviseReads = true

// willNeedMin is the smallest range worth a system call: below it the
// page faults of the copy cost less.
const willNeedMin = 64 << 10

// willNeed asks the kernel to read v[from:to] ahead before it is copied.
// bbolt maps its file with MADV_RANDOM, which turns off read-ahead, so a
// cold multi-megabyte chunk would otherwise fault in one page at a time.
// v must point into bbolt's mmap (a value read in a read transaction);
// the range is widened down to a page boundary as madvise requires.
func willNeed(v []byte, from, to int) {
	if to-from < willNeedMin || !adviseReads {
		return
	}
	p := unsafe.Pointer(&v[from])
	skew := uintptr(p) % pageSize
	base := unsafe.Add(p, -int(skew))
	// Best effort: an error only loses the read-ahead.
	_ = unix.Madvise(unsafe.Slice((*byte)(base), uintptr(to-from)+skew), unix.MADV_WILLNEED)
}
