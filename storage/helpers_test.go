package storage

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.etcd.io/bbolt"
)

// testDB is an open database that a test can close and reopen.
type testDB struct {
	*DB
	tb   testing.TB
	path string
	opts Options
}

// mustOpenDB opens a database in tb.TempDir with the janitor off; the
// cleanup checks bbolt's invariants and closes it.
func mustOpenDB(tb testing.TB) *testDB {
	tb.Helper()
	return mustOpenDBOpts(tb, Options{})
}

func mustOpenDBOpts(tb testing.TB, opts Options) *testDB {
	tb.Helper()
	if opts.NodeID == "" {
		opts.NodeID = "n1"
	}
	if opts.SweepInterval == 0 {
		opts.SweepInterval = -1
	}
	tdb := &testDB{tb: tb, path: filepath.Join(tb.TempDir(), "metacdn.db"), opts: opts}
	tdb.open()
	tb.Cleanup(func() {
		if tdb.DB == nil || tdb.closed.Load() {
			return
		}
		tdb.check()
		if err := tdb.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return tdb
}

func (tdb *testDB) open() {
	tdb.tb.Helper()
	db, err := Open(tdb.path, tdb.opts)
	if err != nil {
		tdb.tb.Fatalf("Open: %v", err)
	}
	tdb.DB = db
}

// reopen closes and opens the file again, as a restart would.
func (tdb *testDB) reopen() {
	tdb.tb.Helper()
	tdb.check()
	if err := tdb.Close(); err != nil {
		tdb.tb.Fatalf("Close: %v", err)
	}
	tdb.open()
}

// check runs bbolt's consistency check.
func (tdb *testDB) check() {
	tdb.tb.Helper()
	err := tdb.bolt.View(func(tx *bbolt.Tx) error {
		for err := range tx.Check() {
			tdb.tb.Errorf("bbolt check: %v", err)
		}
		return nil
	})
	if err != nil {
		tdb.tb.Errorf("bbolt check: %v", err)
	}
}

func (tdb *testDB) mustPut(key string, data []byte) Object {
	tdb.tb.Helper()
	o, err := tdb.Put(context.Background(), PutRequest{Key: key, ContentType: "application/octet-stream", Body: bytes.NewReader(data)})
	if err != nil {
		tdb.tb.Fatalf("Put(%q): %v", key, err)
	}
	return o
}

func (tdb *testDB) mustStats() Stats {
	tdb.tb.Helper()
	s, err := tdb.Stats()
	if err != nil {
		tdb.tb.Fatalf("Stats: %v", err)
	}
	return s
}

// mustRead returns a key's content through OpenObject.
func (tdb *testDB) mustRead(key string) []byte {
	tdb.tb.Helper()
	_, br, err := tdb.OpenObject(key)
	if err != nil {
		tdb.tb.Fatalf("OpenObject(%q): %v", key, err)
	}
	defer br.Close()
	b, err := io.ReadAll(br)
	if err != nil {
		tdb.tb.Fatalf("read %q: %v", key, err)
	}
	return b
}

func randBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := 0; i+8 <= n; i += 8 {
		v := r.Uint64()
		for j := range 8 {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	for i := n &^ 7; i < n; i++ {
		b[i] = byte(r.Uint32())
	}
	return b
}

func shaHex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// fakeClock is a settable wall clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// patternReader yields n bytes of a cheap non-repeating pattern without
// holding them.
type patternReader struct {
	n, off int64
}

func (r *patternReader) Read(p []byte) (int, error) {
	if r.off >= r.n {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), r.n-r.off)]
	for i := range p {
		o := r.off + int64(i)
		p[i] = byte(o ^ o>>8 ^ o>>16 ^ o>>24)
	}
	r.off += int64(len(p))
	return len(p), nil
}
