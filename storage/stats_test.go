package storage

import (
	"strconv"
	"testing"
	"time"

	"go.etcd.io/bbolt"
)

func TestIsTombstone(t *testing.T) {
	for _, o := range []Object{
		{Key: "a", Size: 5, SHA256: "x", Meta: map[string]string{"k": "v"}, Version: 7, Origin: "n1", Modified: time.Unix(1, 0)},
		{Key: "b", Deleted: true, Version: 9, Origin: "n2"},
		{Key: "c"},
	} {
		v, err := encodeObject(o)
		if err != nil {
			t.Fatal(err)
		}
		got, err := isTombstone(v)
		if err != nil || got != o.Deleted {
			t.Fatalf("isTombstone(%+v) = %v, %v; want %v", o, got, err, o.Deleted)
		}
	}
	if _, err := isTombstone([]byte{0x42, 0xff}); err == nil {
		t.Fatal("isTombstone of a truncated record: no error")
	}
}

func TestStats_CountsTombstones(t *testing.T) {
	db := mustOpenDB(t)
	db.mustPut("a", []byte("one"))
	db.mustPut("b", []byte("two"))
	if _, err := db.Delete("b"); err != nil {
		t.Fatal(err)
	}
	s := db.mustStats()
	if s.Objects != 1 || s.Tombstones != 1 || s.Blobs != 1 {
		t.Fatalf("Stats = %+v, want 1 object, 1 tombstone, 1 blob", s)
	}
}

// BenchmarkStats scans 50,000 object records (written directly, with
// metadata, every tenth a tombstone).
func BenchmarkStats(b *testing.B) {
	db := mustOpenDB(b)
	err := db.update(func(tx *bbolt.Tx) error {
		bucket := tx.Bucket(bucketObjects)
		for i := range 50_000 {
			v, err := encodeObject(Object{
				Size: int64(i), SHA256: shaHex([]byte{byte(i)}), ContentType: "image/jpeg",
				Meta: map[string]string{"owner": "ann", "n": strconv.Itoa(i)}, Version: uint64(i),
				Origin: "n1", Deleted: i%10 == 0, Modified: time.Unix(int64(i), 0),
			})
			if err != nil {
				return err
			}
			if err := bucket.Put([]byte("k/"+strconv.Itoa(i)), v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if s := db.mustStats(); s.Objects != 45_000 || s.Tombstones != 5_000 {
			b.Fatalf("Stats = %+v", s)
		}
	}
}
