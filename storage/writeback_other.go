//go:build !linux

package storage

// writebackNudger is Linux-only (sync_file_range); elsewhere commits run
// as they are.
type writebackNudger struct{}

func newWritebackNudger(string) *writebackNudger { return nil }

func (*writebackNudger) during(fn func() error, _ func() int64) error { return fn() }

func (*writebackNudger) close() {}
