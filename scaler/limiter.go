package scaler

import (
	"context"
	"fmt"
	"runtime"
)

// Limiter caps concurrent resizes. Decoding a large image takes tens of
// milliseconds and tens of megabytes, so a server lets a fixed number run
// and answers 503 to the rest rather than queueing without bound.
type Limiter struct {
	sem chan struct{}
}

// NewLimiter returns a Limiter of n slots; n <= 0 means GOMAXPROCS.
func NewLimiter(n int) *Limiter {
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	return &Limiter{sem: make(chan struct{}, n)}
}

// TryAcquire takes a slot if one is free and reports whether it did. A true
// result must be paired with Release.
func (l *Limiter) TryAcquire() bool {
	select {
	case l.sem <- struct{}{}:
		return true
	default:
		return false
	}
}

// Acquire waits for a slot until ctx is done.
func (l *Limiter) Acquire(ctx context.Context) error {
	select {
	case l.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("acquire: %w", ctx.Err())
	}
}

// Release frees a slot taken by TryAcquire or Acquire. It panics if none is
// held, as that is a caller bug that would silently raise the cap.
func (l *Limiter) Release() {
	select {
	case <-l.sem:
	default:
		panic("scaler: Limiter.Release without Acquire")
	}
}

// Do runs fn in a slot, or returns ErrBusy at once when all are taken.
func (l *Limiter) Do(fn func() error) error {
	if !l.TryAcquire() {
		return ErrBusy
	}
	defer l.Release()
	return fn()
}

// InUse returns the slots taken now.
func (l *Limiter) InUse() int { return len(l.sem) }

// Cap returns the number of slots.
func (l *Limiter) Cap() int { return cap(l.sem) }
