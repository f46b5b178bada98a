package migrations

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	"metacdn/wire"
)

var update = flag.Bool("update", false, "rewrite testdata/v1/metacdn.db")

const v1File = "testdata/v1/metacdn.db"

// The v1 fixture: one object "hello.txt" with its blob in one chunk, its
// log entry, a peer, and three variants of the blob: 800 precomputed, 200
// and 100 dynamic (created in that order).
var (
	v1Content = []byte("hello from schema v1\n")
	v1Created = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
)

// writeV1 writes the fixture with the layout and encodings of v1.
func writeV1(t *testing.T, path string) {
	t.Helper()
	os.Remove(path)
	db, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	sum := sha256.Sum256(v1Content)
	err = db.Update(func(tx *bbolt.Tx) error {
		if err := MigrateTx(tx, 1); err != nil {
			return err
		}
		obj, _ := proto.Marshal(&wire.Object{
			Size: int64(len(v1Content)), Sha256: hexString(sum[:]), ContentType: "text/plain",
			Version: 1 << 16, Origin: "n1", ModifiedUnixNano: v1Created.UnixNano(),
		})
		entry, _ := proto.Marshal(&wire.LogEntry{
			Key: "hello.txt", Version: 1 << 16, Sha256: hexString(sum[:]),
			Size: int64(len(v1Content)), ContentType: "text/plain", ModifiedUnixNano: v1Created.UnixNano(),
		})
		peer, _ := proto.Marshal(&wire.Peer{Url: "http://127.0.0.1:7001", Provider: "aws", Version: 1 << 16})
		blob := make([]byte, 0, 32)
		blob = binary.BigEndian.AppendUint64(blob, uint64(len(v1Content))) // size
		blob = binary.BigEndian.AppendUint64(blob, 1)                      // chunk set
		blob = binary.BigEndian.AppendUint64(blob, 1)                      // refs
		blob = binary.BigEndian.AppendUint64(blob, uint64(v1Created.UnixNano()))
		chunkKey := binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(nil, 1), 0)

		if err := tx.Bucket(BucketObjects).Put([]byte("hello.txt"), obj); err != nil {
			return err
		}
		if err := tx.Bucket(BucketBlobs).Put(sum[:], blob); err != nil {
			return err
		}
		if err := tx.Bucket(BucketChunks).SetSequence(1); err != nil {
			return err
		}
		if err := tx.Bucket(BucketChunks).Put(chunkKey, v1Content); err != nil {
			return err
		}
		ob, err := tx.Bucket(BucketLog).CreateBucket([]byte("n1"))
		if err != nil {
			return err
		}
		if err := ob.Put(binary.BigEndian.AppendUint64(nil, 1), entry); err != nil {
			return err
		}
		if err := tx.Bucket(BucketPeers).Put([]byte("n2"), peer); err != nil {
			return err
		}
		for i, v := range []struct {
			width int
			pre   bool
		}{{800, true}, {200, false}, {100, false}} {
			if err := tx.Bucket(BucketVariants).Put(variantKey(sum, v.width), v1Variant(v.width, v.pre, v1Created.Add(time.Duration(i)*time.Second))); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func variantKey(sum [32]byte, width int) []byte {
	return binary.BigEndian.AppendUint32(append([]byte(nil), sum[:]...), uint32(width))
}

func v1Variant(width int, pre bool, created time.Time) []byte {
	var flags byte
	if pre {
		flags = flagPrecomputed
	}
	b := []byte{flags}
	b = binary.BigEndian.AppendUint32(b, uint32(width/2))
	b = binary.BigEndian.AppendUint64(b, uint64(created.UnixNano()))
	b = binary.AppendUvarint(b, uint64(len("image/png")))
	b = append(b, "image/png"...)
	return append(b, bytes.Repeat([]byte{byte(width)}, width)...)
}

func hexString(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}

// copyFixture copies the committed v1 file into a temporary directory
// (migrating it in place would change the fixture).
func copyFixture(t *testing.T) string {
	t.Helper()
	if *update {
		writeV1(t, v1File)
	}
	src, err := os.Open(v1File)
	if err != nil {
		t.Fatalf("open fixture (regenerate with go test ./migrations -run V1 -update): %v", err)
	}
	defer src.Close()
	path := filepath.Join(t.TempDir(), "metacdn.db")
	dst, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func mustOpen(t *testing.T, path string) *bbolt.DB {
	t.Helper()
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		db.View(func(tx *bbolt.Tx) error {
			for err := range tx.Check() {
				t.Errorf("bbolt check: %v", err)
			}
			return nil
		})
		db.Close()
	})
	return db
}

func version(t *testing.T, db *bbolt.DB) int {
	t.Helper()
	var v int
	if err := db.View(func(tx *bbolt.Tx) (err error) { v, err = Version(tx); return err }); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestMigrate_V1(t *testing.T) {
	db := mustOpen(t, copyFixture(t))
	if got, want := version(t, db), 1; got != want {
		t.Fatalf("fixture at v%d, want v%d", got, want)
	}
	if err := Migrate(db); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	if got, want := version(t, db), Current; got != want {
		t.Fatalf("after Migrate v%d, want v%d", got, want)
	}
	sum := sha256.Sum256(v1Content)
	err := db.View(func(tx *bbolt.Tx) error {
		var keys [][]byte
		tx.Bucket(BucketDynVariants).ForEach(func(k, _ []byte) error {
			keys = append(keys, bytes.Clone(k))
			return nil
		})
		want := [][]byte{
			DynVariantKey(v1Created.Add(time.Second).UnixNano(), variantKey(sum, 200)),
			DynVariantKey(v1Created.Add(2*time.Second).UnixNano(), variantKey(sum, 100)),
		}
		if len(keys) != 2 || !bytes.Equal(keys[0], want[0]) || !bytes.Equal(keys[1], want[1]) {
			t.Fatalf("dynamic index %x, want %x", keys, want)
		}
		if n := binary.BigEndian.Uint64(tx.Bucket(BucketMeta).Get(KeyDynVariants)); n != 2 {
			t.Fatalf("dynamic count %d, want 2", n)
		}
		// Data the step does not touch is still there.
		if v := tx.Bucket(BucketObjects).Get([]byte("hello.txt")); v == nil {
			t.Fatal("object lost")
		}
		if v := tx.Bucket(BucketVariants).Get(variantKey(sum, 800)); v == nil {
			t.Fatal("precomputed variant lost")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Migrating an up-to-date file changes nothing.
	if err := Migrate(db); err != nil {
		t.Fatalf("second Migrate: %v", err)
	}
}

func TestMigrate_New(t *testing.T) {
	db := mustOpen(t, filepath.Join(t.TempDir(), "new.db"))
	if err := Migrate(db); err != nil {
		t.Fatal(err)
	}
	if got, want := version(t, db), Current; got != want {
		t.Fatalf("new file at v%d, want v%d", got, want)
	}
	db.View(func(tx *bbolt.Tx) error {
		for _, name := range [][]byte{BucketMeta, BucketObjects, BucketBlobs, BucketChunks, BucketVariants,
			BucketPeers, BucketLog, BucketUploads, BucketStaging, BucketDynVariants} {
			if tx.Bucket(name) == nil {
				t.Errorf("bucket %s missing", name)
			}
		}
		return nil
	})
}

func TestMigrate_Newer(t *testing.T) {
	db := mustOpen(t, filepath.Join(t.TempDir(), "newer.db"))
	if err := Migrate(db); err != nil {
		t.Fatal(err)
	}
	db.Update(func(tx *bbolt.Tx) error { return setVersion(tx, Current+1) })
	if err := Migrate(db); !errors.Is(err, ErrNewerSchema) {
		t.Fatalf("Migrate of a newer file: %v, want ErrNewerSchema", err)
	}
	db.Update(func(tx *bbolt.Tx) error { return tx.Bucket(BucketMeta).Put(KeySchema, []byte("x")) })
	if err := Migrate(db); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Migrate of a garbled version: %v, want ErrCorrupt", err)
	}
}

// TestMigrate_FailedStepRollsBack checks that a step failing halfway
// leaves the file at its old version with nothing half-built.
func TestMigrate_FailedStepRollsBack(t *testing.T) {
	db := mustOpen(t, copyFixture(t))
	db.Update(func(tx *bbolt.Tx) error {
		return tx.Bucket(BucketVariants).Put(bytes.Repeat([]byte{9}, 36), []byte{0}) // short record
	})
	if err := Migrate(db); err == nil {
		t.Fatal("Migrate of a corrupt variant succeeded")
	}
	if got, want := version(t, db), 1; got != want {
		t.Fatalf("after failed Migrate v%d, want v%d", got, want)
	}
	db.View(func(tx *bbolt.Tx) error {
		if tx.Bucket(BucketDynVariants) != nil {
			t.Fatal("failed step left its bucket")
		}
		return nil
	})
}
