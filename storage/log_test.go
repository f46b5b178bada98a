package storage

import (
	"bytes"
	"context"
	"errors"
	"math"
	"testing"
	"time"
)

func TestDB_HeadsReadLog(t *testing.T) {
	db := mustOpenDB(t)
	for _, k := range []string{"a", "b", "c"} {
		db.mustPut(k, []byte(k))
	}
	if _, err := db.Delete("b"); err != nil {
		t.Fatal(err)
	}
	heads, err := db.Heads()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := heads["n1"], uint64(4); got != want || len(heads) != 1 {
		t.Fatalf("Heads=%v, want n1:%d", heads, want)
	}
	all, err := db.ReadLog("n1", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(all), 4; got != want {
		t.Fatalf("ReadLog: %d entries, want %d", got, want)
	}
	for i, e := range all {
		if e.Seq != uint64(i+1) || e.Origin != "n1" {
			t.Fatalf("entry %d: %+v", i, e)
		}
		if i > 0 && e.Version <= all[i-1].Version {
			t.Fatalf("entry %d version %d not after %d", i, e.Version, all[i-1].Version)
		}
	}
	if e := all[3]; e.Key != "b" || !e.Deleted {
		t.Fatalf("last entry %+v, want delete of b", e)
	}
	if e := all[0]; e.Key != "a" || e.SHA256 != shaHex([]byte("a")) || e.Size != 1 || e.Modified.IsZero() {
		t.Fatalf("first entry %+v", e)
	}
	page, err := db.ReadLog("n1", 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(page) != 2 || page[0].Seq != 2 || page[1].Seq != 3 {
		t.Fatalf("ReadLog(after 1, limit 2)=%+v", page)
	}
	if none, err := db.ReadLog("nobody", 0, 10); err != nil || len(none) != 0 {
		t.Fatalf("ReadLog(unknown)=%v, %v", none, err)
	}
}

// replica returns a second database holding the blobs of src so entries of
// src can be applied to it.
func copyBlob(t *testing.T, dst *testDB, data []byte) {
	t.Helper()
	if err := dst.PutBlob(context.Background(), bytes.NewReader(data), shaHex(data)); err != nil {
		t.Fatalf("PutBlob: %v", err)
	}
}

func TestDB_Apply(t *testing.T) {
	clock := newFakeClock()
	db := mustOpenDBOpts(t, Options{NodeID: "n1", Clock: clock.Now})
	write := func(seq uint64, key string, version uint64, data []byte) LogEntry {
		return LogEntry{
			Origin: "n2", Seq: seq, Key: key, Version: version, SHA256: shaHex(data),
			Size: int64(len(data)), ContentType: "text/plain", Modified: clock.Now(),
		}
	}
	future := uint64(clock.Now().Add(time.Hour).UnixMilli()) << 16

	t.Run("MissingBlob", func(t *testing.T) {
		_, err := db.Apply(write(1, "k", future, []byte("v1")))
		if !errors.Is(err, ErrMissingBlob) {
			t.Fatalf("Apply: %v, want ErrMissingBlob", err)
		}
		if heads, _ := db.Heads(); heads["n2"] != 0 {
			t.Fatalf("head moved to %d on a missing blob", heads["n2"])
		}
	})
	copyBlob(t, db, []byte("v1"))
	e1 := write(1, "k", future, []byte("v1"))
	t.Run("Write", func(t *testing.T) {
		changed, err := db.Apply(e1)
		if err != nil || !changed {
			t.Fatalf("Apply=%v, %v; want true, nil", changed, err)
		}
		o, err := db.Get("k")
		if err != nil {
			t.Fatal(err)
		}
		if o.Origin != "n2" || o.Version != future || o.SHA256 != e1.SHA256 {
			t.Fatalf("object %+v", o)
		}
		if b := db.mustRead("k"); string(b) != "v1" {
			t.Fatalf("content %q", b)
		}
	})
	t.Run("Idempotent", func(t *testing.T) {
		changed, err := db.Apply(e1)
		if err != nil || changed {
			t.Fatalf("Apply again=%v, %v; want false, nil", changed, err)
		}
	})
	t.Run("Gap", func(t *testing.T) {
		if _, err := db.Apply(write(3, "k", future+10, []byte("v1"))); !errors.Is(err, ErrLogGap) {
			t.Fatalf("Apply seq 3 after 1: %v, want ErrLogGap", err)
		}
	})
	t.Run("ClockAdvanced", func(t *testing.T) {
		// Wall time is an hour behind e1, yet a local write orders after it.
		o := db.mustPut("k", []byte("local"))
		if o.Version <= future {
			t.Fatalf("local version %d <= applied %d", o.Version, future)
		}
		if heads, _ := db.Heads(); heads["n1"] != 1 || heads["n2"] != 1 {
			t.Fatalf("Heads=%v", heads)
		}
	})
	t.Run("LoserRecorded", func(t *testing.T) {
		old := []byte("older write")
		copyBlob(t, db, old)
		changed, err := db.Apply(write(2, "k", future-1, old))
		if err != nil || changed {
			t.Fatalf("Apply older=%v, %v; want false, nil", changed, err)
		}
		if heads, _ := db.Heads(); heads["n2"] != 2 {
			t.Fatalf("head(n2)=%d, want 2: a losing entry still advances", heads["n2"])
		}
		if b := db.mustRead("k"); string(b) != "local" {
			t.Fatalf("content %q, want the newer local write", b)
		}
		if ok, _ := db.HasBlob(shaHex(old)); ok {
			t.Fatal("losing entry's unreferenced blob not freed")
		}
	})
	t.Run("TieBreakByOrigin", func(t *testing.T) {
		o, _ := db.Get("k")
		data := []byte("tie")
		copyBlob(t, db, data)
		e := write(3, "k", o.Version, data) // same version, origin n2 > n1
		if changed, err := db.Apply(e); err != nil || !changed {
			t.Fatalf("Apply tie=%v, %v; want true, nil", changed, err)
		}
		if ok, _ := db.HasBlob(shaHex([]byte("local"))); ok {
			t.Fatal("replaced object's blob not freed")
		}
	})
	t.Run("Tombstone", func(t *testing.T) {
		o, _ := db.Get("k")
		tomb := LogEntry{Origin: "n2", Seq: 4, Key: "k", Version: o.Version + 1, Deleted: true}
		if changed, err := db.Apply(tomb); err != nil || !changed {
			t.Fatalf("Apply tombstone=%v, %v", changed, err)
		}
		if _, err := db.Get("k"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Get after tombstone: %v", err)
		}
		// An older write arriving later does not revive the key.
		old := []byte("stale")
		copyBlob(t, db, old)
		e := LogEntry{Origin: "n3", Seq: 1, Key: "k", Version: o.Version, SHA256: shaHex(old), Size: 5}
		if changed, err := db.Apply(e); err != nil || changed {
			t.Fatalf("Apply stale write=%v, %v; want false, nil", changed, err)
		}
		if _, err := db.Get("k"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("stale write revived the key: %v", err)
		}
		if s := db.mustStats(); s.Blobs != 0 {
			t.Fatalf("blobs left: %+v", s)
		}
	})
	t.Run("TombstoneOfUnknownKey", func(t *testing.T) {
		tomb := LogEntry{Origin: "n3", Seq: 2, Key: "never", Version: future, Deleted: true}
		if changed, err := db.Apply(tomb); err != nil || !changed {
			t.Fatalf("Apply=%v, %v", changed, err)
		}
		data := []byte("older")
		copyBlob(t, db, data)
		e := LogEntry{Origin: "n3", Seq: 3, Key: "never", Version: future - 5, SHA256: shaHex(data), Size: 5}
		if changed, err := db.Apply(e); err != nil || changed {
			t.Fatalf("Apply older write=%v, %v; want false, nil", changed, err)
		}
	})
	t.Run("LoserNeedsNoBlob", func(t *testing.T) {
		e := LogEntry{Origin: "n3", Seq: 4, Key: "never", Version: 1, SHA256: shaHex([]byte("unknown")), Size: 7}
		if changed, err := db.Apply(e); err != nil || changed {
			t.Fatalf("Apply losing write without blob=%v, %v; want false, nil", changed, err)
		}
	})
	t.Run("Skip", func(t *testing.T) {
		e := LogEntry{Origin: "n3", Seq: 5, Key: "fresh", Version: future + 100, SHA256: shaHex([]byte("gone")), Size: 4}
		if _, err := db.Apply(e); !errors.Is(err, ErrMissingBlob) {
			t.Fatalf("Apply winning write without blob: %v, want ErrMissingBlob", err)
		}
		if err := db.Skip(e); err != nil {
			t.Fatalf("Skip: %v", err)
		}
		if heads, _ := db.Heads(); heads["n3"] != 5 {
			t.Fatalf("head(n3)=%d after Skip, want 5", heads["n3"])
		}
		if _, err := db.Get("fresh"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("skipped entry applied: %v", err)
		}
	})
	t.Run("ServesOtherOrigins", func(t *testing.T) {
		es, err := db.ReadLog("n2", 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(es) != 4 || es[0].Key != "k" || es[0].Version != future || es[0].SHA256 != e1.SHA256 || es[3].Deleted != true {
			t.Fatalf("ReadLog(n2)=%+v", es)
		}
	})
}

// TestDB_ApplyConverges applies two servers' logs to each other in
// different orders and checks that both end in the same state.
func TestDB_ApplyConverges(t *testing.T) {
	a := mustOpenDBOpts(t, Options{NodeID: "a"})
	b := mustOpenDBOpts(t, Options{NodeID: "b"})
	a.mustPut("x", []byte("a1"))
	b.mustPut("x", []byte("b1"))
	a.mustPut("y", []byte("a2"))
	if _, err := b.Delete("x"); err != nil {
		t.Fatal(err)
	}
	b.mustPut("y", []byte("b2"))
	ship := func(from, to *testDB) {
		es, err := from.ReadLog(from.NodeID(), 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range es {
			_, err := to.Apply(e)
			if errors.Is(err, ErrMissingBlob) {
				br, oerr := from.OpenBlob(e.SHA256)
				if errors.Is(oerr, ErrNotFound) {
					// Freed at the source: a later entry supersedes it.
					err = to.Skip(e)
				} else {
					copyBlob(t, to, must(t, br))
					_, err = to.Apply(e)
				}
			}
			if err != nil {
				t.Fatalf("Apply %+v: %v", e, err)
			}
		}
	}
	ship(a, b)
	ship(b, a)
	for _, key := range []string{"x", "y"} {
		oa, errA := a.Get(key)
		ob, errB := b.Get(key)
		if !errors.Is(errA, ErrNotFound) || !errors.Is(errB, ErrNotFound) {
			if errA != nil || errB != nil || oa.Version != ob.Version || oa.SHA256 != ob.SHA256 {
				t.Fatalf("%s diverged: a=%+v (%v) b=%+v (%v)", key, oa, errA, ob, errB)
			}
		}
	}
}

func must(t *testing.T, br *BlobReader) []byte {
	t.Helper()
	defer br.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(br); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestDB_ApplyBatch(t *testing.T) {
	db := mustOpenDB(t)
	a, b, c := []byte("a"), []byte("b"), []byte("c")
	copyBlob(t, db, a)
	copyBlob(t, db, c)
	es := []LogEntry{
		{Origin: "n4", Seq: 1, Key: "a", Version: 10, SHA256: shaHex(a), Size: 1},
		{Origin: "n4", Seq: 2, Key: "b", Version: 11, SHA256: shaHex(b), Size: 1},
		{Origin: "n4", Seq: 3, Key: "c", Version: 12, SHA256: shaHex(c), Size: 1},
	}
	done, err := db.ApplyBatch(es)
	if done != 1 || !errors.Is(err, ErrMissingBlob) {
		t.Fatalf("ApplyBatch=%d, %v; want 1, ErrMissingBlob", done, err)
	}
	if heads, _ := db.Heads(); heads["n4"] != 1 {
		t.Fatalf("head(n4)=%d, want 1: the entry before the failure commits", heads["n4"])
	}
	if _, err := db.Get("b"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("failed entry applied: %v", err)
	}
	copyBlob(t, db, b)
	if done, err := db.ApplyBatch(es); done != 3 || err != nil {
		t.Fatalf("ApplyBatch again=%d, %v; want 3, nil", done, err)
	}
	for _, k := range []string{"a", "b", "c"} {
		if got := string(db.mustRead(k)); got != k {
			t.Fatalf("%s=%q", k, got)
		}
	}
	if done, err := db.ApplyBatch(es[:2]); done != 2 || err != nil {
		t.Fatalf("ApplyBatch of stored entries=%d, %v; want 2, nil", done, err)
	}
	gap := []LogEntry{{Origin: "n4", Seq: 5, Key: "d", Version: 13, Deleted: true}}
	if done, err := db.ApplyBatch(gap); done != 0 || !errors.Is(err, ErrLogGap) {
		t.Fatalf("ApplyBatch gap=%d, %v; want 0, ErrLogGap", done, err)
	}
}

// TestDB_ApplyVersionTooFarAhead: an entry whose version is more than a
// day ahead of this server's clock is refused before it changes anything.
// Taken, it would win over every later write of its key and carry the
// clock to the top of its range, where the next local write wrapped to a
// version that loses to everything.
func TestDB_ApplyVersionTooFarAhead(t *testing.T) {
	clock := newFakeClock()
	db := mustOpenDBOpts(t, Options{NodeID: "n1", Clock: clock.Now})
	before := db.mustPut("k", []byte("local"))
	copyBlob(t, db, []byte("forged"))
	for name, version := range map[string]uint64{
		"TwoDays": uint64(clock.Now().Add(48 * time.Hour).UnixNano()),
		"Top":     math.MaxUint64,
	} {
		t.Run(name, func(t *testing.T) {
			e := LogEntry{Origin: "n2", Seq: 1, Key: "k", Version: version, SHA256: shaHex([]byte("forged")),
				Size: 6, ContentType: "text/plain", Modified: clock.Now()}
			if _, err := db.Apply(e); !errors.Is(err, ErrInvalid) {
				t.Fatalf("Apply: %v, want ErrInvalid", err)
			}
			if done, err := db.ApplyBatch([]LogEntry{e}); done != 0 || !errors.Is(err, ErrInvalid) {
				t.Fatalf("ApplyBatch: %d, %v; want 0, ErrInvalid", done, err)
			}
			if err := db.Skip(e); !errors.Is(err, ErrInvalid) {
				t.Fatalf("Skip: %v, want ErrInvalid", err)
			}
		})
	}
	if heads, _ := db.Heads(); heads["n2"] != 0 {
		t.Fatalf("head of n2 at %d, want nothing stored", heads["n2"])
	}
	if b := db.mustRead("k"); string(b) != "local" {
		t.Fatalf("content %q, want the local write", b)
	}
	// A day ahead is skew, not forgery: it is taken.
	skewed := uint64(clock.Now().Add(23 * time.Hour).UnixNano())
	e := LogEntry{Origin: "n2", Seq: 1, Key: "k", Version: skewed, SHA256: shaHex([]byte("forged")),
		Size: 6, ContentType: "text/plain", Modified: clock.Now()}
	if changed, err := db.Apply(e); err != nil || !changed {
		t.Fatalf("Apply of a version 23 h ahead: %v, %v; want it applied", changed, err)
	}
	if after := db.mustPut("k", []byte("later")); after.Version <= skewed || after.Version <= before.Version {
		t.Fatalf("a later local write got version %d, want above %d", after.Version, skewed)
	}
}
