package scaler

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"
)

// Probe reads whether a JPEG is progressive and its planes' size, and
// DecodeBytes counts the coefficients a progressive decode holds.
func TestProbe_DecodeBytes(t *testing.T) {
	for _, tc := range []struct {
		file        string
		progressive bool
		perPixel    float64 // DecodeBytes per pixel
	}{
		{"progressive420.jpg", true, 1.5 + 6 + 4},
		{"baseline444.jpg", false, 3 + 4},
		{"gray.jpg", false, 1 + 4},
	} {
		t.Run(tc.file, func(t *testing.T) {
			info, err := Probe(bytes.NewReader(mustRead(t, "internal/jpegscale/testdata/"+tc.file)))
			if err != nil {
				t.Fatal(err)
			}
			if info.Progressive != tc.progressive {
				t.Fatalf("Progressive=%v, want %v", info.Progressive, tc.progressive)
			}
			want := int64(float64(info.Width) * float64(info.Height) * tc.perPixel)
			if got := info.DecodeBytes(); got != want {
				t.Fatalf("DecodeBytes=%d, want %d (%.1f bytes per pixel of %dx%d)", got, want, tc.perPixel, info.Width, info.Height)
			}
		})
	}
	// The largest image the default limits allow fits the default budget.
	worst := Info{Format: FormatJPEG, Width: 10_000, Height: DefaultMaxPixels / 10_000, Progressive: true, jpegPlanes: 3}
	if worst.DecodeBytes() > DefaultDecodeBudget {
		t.Fatalf("a %d-pixel 4:4:4 progressive JPEG needs %d bytes, over the default budget", int64(DefaultMaxPixels), worst.DecodeBytes())
	}
}

func TestBudget(t *testing.T) {
	b := NewBudget(100)
	if err := b.TryTake(60); err != nil {
		t.Fatal(err)
	}
	if err := b.TryTake(50); !errors.Is(err, ErrBusy) {
		t.Fatalf("TryTake past the free bytes: %v, want ErrBusy", err)
	}
	if err := b.TryTake(101); !errors.Is(err, ErrOverBudget) {
		t.Fatalf("TryTake over the whole budget: %v, want ErrOverBudget", err)
	}
	if err := b.Take(context.Background(), 101); !errors.Is(err, ErrOverBudget) {
		t.Fatalf("Take over the whole budget: %v, want ErrOverBudget", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := b.Take(ctx, 50); !errors.Is(err, context.Canceled) {
		t.Fatalf("Take with a canceled context: %v", err)
	}

	// A Take waits for a Give that makes room.
	took := make(chan error, 1)
	go func() { took <- b.Take(context.Background(), 50) }()
	select {
	case err := <-took:
		t.Fatalf("Take returned %v with only 40 bytes free", err)
	case <-time.After(20 * time.Millisecond):
	}
	b.Give(60)
	if err := <-took; err != nil {
		t.Fatal(err)
	}
	if got := b.InUse(); got != 50 {
		t.Fatalf("InUse=%d, want 50", got)
	}
	b.Give(50)
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("Give of more than was taken did not panic")
			}
		}()
		b.Give(1)
	}()
}
