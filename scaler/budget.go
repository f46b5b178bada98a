package scaler

import (
	"context"
	"fmt"
	"sync"
)

// DefaultDecodeBudget is the memory the decodes running at once may take
// together, by their estimates (Info.DecodeBytes): room for the largest
// image DefaultMaxPixels allows, a progressive JPEG, at once.
const DefaultDecodeBudget = 1 << 30

// Budget caps the memory of the decodes running at once. A Limiter counts
// decodes, one per core, but a decode's memory depends on the image: a
// 50-megapixel progressive JPEG holds its DCT coefficients for the whole
// frame, hundreds of megabytes, while a 12-megapixel baseline one needs a
// tenth of that. With slots alone, a 32-core server could be made to hold
// 32 of the large kind at once. Each decode takes its estimate from the
// Budget before it starts and gives it back after.
type Budget struct {
	mu    sync.Mutex
	total int64
	used  int64
	freed chan struct{} // closed (and replaced) when bytes come back
}

// NewBudget returns a Budget of total bytes; total <= 0 means
// DefaultDecodeBudget.
func NewBudget(total int64) *Budget {
	if total <= 0 {
		total = DefaultDecodeBudget
	}
	return &Budget{total: total, freed: make(chan struct{})}
}

// Total is the budget's size in bytes.
func (b *Budget) Total() int64 { return b.total }

// InUse is the bytes taken now.
func (b *Budget) InUse() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used
}

// TryTake takes n bytes if they are free and reports whether it did; n over
// the whole budget is ErrOverBudget. A nil error must be paired with Give.
func (b *Budget) TryTake(n int64) error {
	if n > b.total {
		return b.over(n)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.used+n > b.total {
		return ErrBusy
	}
	b.used += n
	return nil
}

// Take waits until n bytes are free, or ctx is done.
func (b *Budget) Take(ctx context.Context, n int64) error {
	if n > b.total {
		return b.over(n)
	}
	for {
		b.mu.Lock()
		if b.used+n <= b.total {
			b.used += n
			b.mu.Unlock()
			return nil
		}
		freed := b.freed
		b.mu.Unlock()
		select {
		case <-freed:
		case <-ctx.Done():
			return fmt.Errorf("take %d bytes: %w", n, ctx.Err())
		}
	}
}

// Give returns n bytes taken before.
func (b *Budget) Give(n int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if n > b.used {
		panic("scaler: Budget.Give of more than was taken")
	}
	b.used -= n
	close(b.freed)
	b.freed = make(chan struct{})
}

func (b *Budget) over(n int64) error {
	return fmt.Errorf("decode needs about %d MiB, the budget is %d MiB: %w", n>>20, b.total>>20, ErrOverBudget)
}
