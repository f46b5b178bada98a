package storage

import (
	"context"
	"runtime"
	"sync"
	"testing"
	"time"
)

// TestDB_PutLargeBoundedHeap puts 256 MiB and samples the Go heap while
// it runs: memory must not grow with the file.
func TestDB_PutLargeBoundedHeap(t *testing.T) {
	const size = 256 << 20
	const limit = 96 << 20
	db := mustOpenDB(t)
	runtime.GC()

	var (
		peak uint64
		wg   sync.WaitGroup
	)
	done := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	o, err := db.Put(context.Background(), PutRequest{Key: "big", Body: &patternReader{n: size}})
	close(done)
	wg.Wait()
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	if o.Size != size {
		t.Fatalf("Size=%d, want %d", o.Size, size)
	}
	t.Logf("peak HeapInuse %d MiB for a %d MiB Put", peak>>20, size>>20)
	if peak > limit {
		t.Fatalf("peak HeapInuse %d MiB, want under %d MiB", peak>>20, limit>>20)
	}
	// The content reads back through a reader of bounded buffer.
	_, br, err := db.OpenObject("big")
	if err != nil {
		t.Fatal(err)
	}
	defer br.Close()
	want := &patternReader{n: size}
	p, q := make([]byte, 1<<20), make([]byte, 1<<20)
	for off := int64(0); off < size; off += int64(len(p)) {
		if _, err := br.ReadAt(p, off); err != nil {
			t.Fatalf("ReadAt %d: %v", off, err)
		}
		want.Read(q)
		if string(p) != string(q) {
			t.Fatalf("content differs at %d", off)
		}
	}
}
