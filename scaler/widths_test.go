package scaler

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
)

func TestWidths(t *testing.T) {
	tests := []struct {
		name       string
		origW      int
		configured []int
		want       []int
	}{
		{"DefaultsLarge", 4000, nil, []int{160, 320, 640, 1280}},
		{"DefaultsBetween", 700, nil, []int{160, 320, 640}},
		{"EqualToOriginalDropped", 640, nil, []int{160, 320}},
		{"TinyOriginal", 100, nil, []int{}},
		{"ConfiguredUnsortedDupes", 1000, []int{800, 0, -1, 200, 800, 5000}, []int{200, 800}},
		{"EmptyConfigured", 1000, []int{}, []int{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Widths(tc.origW, tc.configured); !slices.Equal(got, tc.want) {
				t.Fatalf("Widths(%d, %v)=%v, want %v", tc.origW, tc.configured, got, tc.want)
			}
		})
	}
	// The default list must not be reordered by callers' sorting.
	if !slices.Equal(DefaultWidths, []int{160, 320, 640, 1280}) {
		t.Fatalf("DefaultWidths changed: %v", DefaultWidths)
	}
}

func TestFit(t *testing.T) {
	avail := []int{1280, 160, 640, 320}
	tests := []struct {
		name   string
		want   int
		got    int
		gotOK  bool
		widths []int
	}{
		{"Exact", 320, 320, true, avail},
		{"Between", 300, 0, false, avail},
		{"Above", 2000, 0, false, avail},
		{"Zero", 0, 0, false, avail},
		{"None", 320, 0, false, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := Fit(tc.want, tc.widths)
			if got != tc.got || ok != tc.gotOK {
				t.Fatalf("Fit(%d)=%d,%v, want %d,%v", tc.want, got, ok, tc.got, tc.gotOK)
			}
		})
	}
}

func TestLimiter(t *testing.T) {
	l := NewLimiter(2)
	if l.Cap() != 2 {
		t.Fatalf("Cap()=%d", l.Cap())
	}
	if !l.TryAcquire() || !l.TryAcquire() {
		t.Fatal("TryAcquire failed with free slots")
	}
	if l.TryAcquire() {
		t.Fatal("TryAcquire succeeded past the cap")
	}
	if err := l.Do(func() error { return nil }); !errors.Is(err, ErrBusy) {
		t.Fatalf("Do when full err=%v, want ErrBusy", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := l.Acquire(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Acquire on canceled ctx err=%v", err)
	}
	l.Release()
	if got := l.InUse(); got != 1 {
		t.Fatalf("InUse()=%d, want 1", got)
	}
	sentinel := errors.New("inner")
	if err := l.Do(func() error { return sentinel }); !errors.Is(err, sentinel) {
		t.Fatalf("Do err=%v, want the function's", err)
	}
	l.Release()
	if got := l.InUse(); got != 0 {
		t.Fatalf("InUse()=%d, want 0", got)
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("Release without Acquire did not panic")
			}
		}()
		l.Release()
	}()
	if NewLimiter(0).Cap() < 1 {
		t.Fatal("NewLimiter(0) has no slots")
	}
}

// TestLimiter_Concurrent checks the cap holds under contention.
func TestLimiter_Concurrent(t *testing.T) {
	l := NewLimiter(3)
	var mu sync.Mutex
	cur, peak := 0, 0
	var wg sync.WaitGroup
	for i := 0; i < 12; i++ {
		wg.Go(func() {
			if err := l.Acquire(context.Background()); err != nil {
				t.Error(err)
				return
			}
			defer l.Release()
			mu.Lock()
			cur++
			peak = max(peak, cur)
			mu.Unlock()
			// Hold the slot through a real resize, not a sleep.
			if _, err := Resize(smallPNG, 50, Options{}); err != nil {
				t.Error(err)
			}
			mu.Lock()
			cur--
			mu.Unlock()
		})
	}
	wg.Wait()
	if peak > 3 {
		t.Fatalf("peak concurrency %d over cap 3", peak)
	}
}
