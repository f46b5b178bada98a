package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"
)

func readObject(tb testing.TB, db *testDB, key string) ([]byte, error) {
	tb.Helper()
	_, br, err := db.OpenObject(key)
	if err != nil {
		return nil, err
	}
	defer br.Close()
	return io.ReadAll(br)
}

// A second read of a small object takes no read transaction, and every
// kind of write is seen by the next read.
func TestHotCache_ServesAndInvalidates(t *testing.T) {
	db := mustOpenDB(t)
	db.mustPut("k", []byte("one"))
	if b, err := readObject(t, db, "k"); err != nil || string(b) != "one" {
		t.Fatalf("first read %q, %v", b, err)
	}
	before := db.bolt.Stats().TxN
	if b, err := readObject(t, db, "k"); err != nil || string(b) != "one" {
		t.Fatalf("cached read %q, %v", b, err)
	}
	if got := db.bolt.Stats().TxN - before; got != 0 {
		t.Fatalf("a cached read took %d transactions, want 0", got)
	}

	t.Run("Overwrite", func(t *testing.T) {
		db.mustPut("k", []byte("two"))
		if b, err := readObject(t, db, "k"); err != nil || string(b) != "two" {
			t.Fatalf("read after overwrite %q, %v", b, err)
		}
	})
	t.Run("Delete", func(t *testing.T) {
		if _, err := db.Delete("k"); err != nil {
			t.Fatal(err)
		}
		if _, err := readObject(t, db, "k"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("read after delete: %v, want ErrNotFound", err)
		}
	})
	t.Run("Apply", func(t *testing.T) {
		db.mustPut("r", []byte("local"))
		readObject(t, db, "r")
		content := []byte("remote")
		sha := shaHex(content)
		if err := db.PutBlob(context.Background(), bytes.NewReader(content), sha); err != nil {
			t.Fatal(err)
		}
		e := LogEntry{Origin: "other", Seq: 1, Key: "r", Version: db.Now() + 1<<20, SHA256: sha, Size: int64(len(content))}
		if _, err := db.Apply(e); err != nil {
			t.Fatal(err)
		}
		if b, err := readObject(t, db, "r"); err != nil || string(b) != "remote" {
			t.Fatalf("read after a replicated write %q, %v", b, err)
		}
	})
}

func TestHotCache_Budget(t *testing.T) {
	db := mustOpenDBOpts(t, Options{HotCacheBytes: 3000})
	for i := range 10 {
		db.mustPut(fmt.Sprint(i), bytes.Repeat([]byte{byte(i)}, 1000))
		readObject(t, db, fmt.Sprint(i))
	}
	db.hot.mu.Lock()
	used, n := db.hot.used, len(db.hot.m)
	db.hot.mu.Unlock()
	if used > 3000 || n > 2 {
		t.Fatalf("cache holds %d entries, %d bytes; budget 3000", n, used)
	}
	for i := range 10 {
		if b, err := readObject(t, db, fmt.Sprint(i)); err != nil || !bytes.Equal(b, bytes.Repeat([]byte{byte(i)}, 1000)) {
			t.Fatalf("object %d read back wrong: %v", i, err)
		}
	}
}

// Readers racing a writer never see a state older than the last write
// that returned before they began.
func TestHotCache_ReadersRaceWriter(t *testing.T) {
	db := mustOpenDB(t)
	db.mustPut("hot", []byte("v0000"))
	var (
		mu      sync.Mutex
		settled = 0 // the last version whose Put returned
		wg      sync.WaitGroup
		stop    = make(chan struct{})
	)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				mu.Lock()
				floor := settled
				mu.Unlock()
				b, err := readObject(t, db, "hot")
				if err != nil {
					t.Error(err)
					return
				}
				var v int
				fmt.Sscanf(string(b), "v%04d", &v)
				if v < floor {
					t.Errorf("read v%04d after v%04d was acknowledged", v, floor)
					return
				}
			}
		}()
	}
	for i := 1; i <= 40; i++ {
		db.mustPut("hot", fmt.Appendf(nil, "v%04d", i))
		mu.Lock()
		settled = i
		mu.Unlock()
	}
	close(stop)
	wg.Wait()
}

// A memo set by one reader of a cached object is seen by the next reader
// of the same state, and by none after a write.
func TestHotCache_Memo(t *testing.T) {
	db := mustOpenDB(t)
	db.mustPut("k", []byte("one"))
	memoOf := func(set any) any {
		t.Helper()
		_, br, err := db.OpenObject("k")
		if err != nil {
			t.Fatal(err)
		}
		defer br.Close()
		got := br.Memo()
		if set != nil {
			br.SetMemo(set)
		}
		return got
	}
	if got := memoOf("first"); got != nil {
		t.Fatalf("memo of a fresh object = %v, want nil", got)
	}
	if got := memoOf(nil); got != "first" {
		t.Fatalf("memo = %v, want the one set by the reader before", got)
	}
	db.mustPut("k", []byte("two"))
	if got := memoOf("second"); got != nil {
		t.Fatalf("memo after a write = %v, want nil", got)
	}
	if got := memoOf(nil); got != "second" {
		t.Fatalf("memo = %v, want second", got)
	}

	big := make([]byte, hotObjectMax+1)
	db.mustPut("big", big)
	for range 2 {
		_, br, err := db.OpenObject("big")
		if err != nil {
			t.Fatal(err)
		}
		if got := br.Memo(); got != nil {
			t.Fatalf("memo of an uncached object = %v", got)
		}
		br.SetMemo("ignored")
		br.Close()
	}
}
