package storage

import (
	"os"
	"syscall"
	"time"
)

// syncFileRangeWrite is SYNC_FILE_RANGE_WRITE: start writing back the
// dirty pages of a range without waiting for them.
const syncFileRangeWrite = 0x2

// writebackNudger starts the disk writing a commit's pages while bbolt is
// still writing the rest of them into the page cache. A bbolt commit
// pwrites every dirty page and only then calls fdatasync, so the disk sits
// idle during the pwrites and the CPU during the sync; nudging writeback
// every writebackPeriod overlaps the two, and the commit's fdatasync finds
// most of its pages already written. It only starts writes bbolt makes
// anyway, before bbolt's own fdatasync, so the order that keeps the file
// consistent (pages durable before the meta page that points at them) is
// untouched.
type writebackNudger struct {
	f *os.File // the bbolt file, opened again read-only
}

const writebackPeriod = 500 * time.Microsecond

func newWritebackNudger(path string) *writebackNudger {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	if err := syscall.SyncFileRange(int(f.Fd()), 0, 0, syncFileRangeWrite); err != nil {
		f.Close()
		return nil
	}
	return &writebackNudger{f: f}
}

// during runs fn while nudging writeback.
func (w *writebackNudger) during(fn func() error) error {
	if w == nil {
		return fn()
	}
	stop := make(chan struct{})
	stopped := make(chan struct{})
	fd := int(w.f.Fd())
	go func() {
		defer close(stopped)
		t := time.NewTicker(writebackPeriod)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				_ = syscall.SyncFileRange(fd, 0, 0, syncFileRangeWrite)
			}
		}
	}()
	err := fn()
	close(stop)
	<-stopped
	return err
}

func (w *writebackNudger) close() {
	if w != nil {
		w.f.Close()
	}
}
