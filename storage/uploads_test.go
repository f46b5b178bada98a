package storage

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

func TestDB_Upload(t *testing.T) {
	clock := newFakeClock()
	db := mustOpenDBOpts(t, Options{ChunkSize: 1000, Clock: clock.Now})
	data := randBytes(7, 5555)
	u, err := db.BeginUpload("big/file.bin", "application/zip", map[string]string{"a": "b"}, int64(len(data)))
	if err != nil {
		t.Fatalf("BeginUpload: %v", err)
	}
	if u.ID == "" || u.Received != 0 || u.TotalSize != 5555 || !u.Started.Equal(clock.Now()) {
		t.Fatalf("BeginUpload=%+v", u)
	}
	// Pieces of awkward sizes: tiny ones merge into their chunk, big ones
	// split at the chunk size.
	pieces := []int{1, 7, 300, 2500, 1000, 47}
	off := 0
	for _, n := range pieces[:3] {
		if u, err = db.AppendUpload(u.ID, int64(off), data[off:off+n]); err != nil {
			t.Fatalf("AppendUpload at %d: %v", off, err)
		}
		off += n
	}
	t.Run("OutOfOrder", func(t *testing.T) {
		for _, bad := range []int64{0, int64(off) - 1, int64(off) + 1} {
			if _, err := db.AppendUpload(u.ID, bad, []byte("xx")); !errors.Is(err, ErrOffsetMismatch) {
				t.Fatalf("AppendUpload at %d: %v, want ErrOffsetMismatch", bad, err)
			}
		}
		got, err := db.GetUpload(u.ID)
		if err != nil || got.Received != int64(off) {
			t.Fatalf("GetUpload=%+v, %v; want received %d", got, err, off)
		}
	})
	t.Run("Resume", func(t *testing.T) {
		db.reopen()
		got, err := db.GetUpload(u.ID)
		if err != nil {
			t.Fatalf("GetUpload after reopen: %v", err)
		}
		if got.Received != int64(off) || got.Key != "big/file.bin" || got.Meta["a"] != "b" {
			t.Fatalf("GetUpload after reopen=%+v", got)
		}
	})
	for _, n := range pieces[3:] {
		if u, err = db.AppendUpload(u.ID, int64(off), data[off:off+n]); err != nil {
			t.Fatalf("AppendUpload at %d: %v", off, err)
		}
		off += n
	}
	if _, err := db.AppendUpload(u.ID, int64(off), make([]byte, 10000)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("append past declared size: %v, want ErrTooLarge", err)
	}
	if _, err := db.FinishUpload(u.ID, shaHex(data)); !errors.Is(err, ErrOffsetMismatch) {
		t.Fatalf("FinishUpload short: %v, want ErrOffsetMismatch", err)
	}
	if u, err = db.AppendUpload(u.ID, int64(off), data[off:]); err != nil {
		t.Fatal(err)
	}
	o, err := db.FinishUpload(u.ID, shaHex(data))
	if err != nil {
		t.Fatalf("FinishUpload: %v", err)
	}
	if o.Key != "big/file.bin" || o.Size != int64(len(data)) || o.SHA256 != shaHex(data) || o.ContentType != "application/zip" {
		t.Fatalf("FinishUpload=%+v", o)
	}
	if b := db.mustRead("big/file.bin"); !bytes.Equal(b, data) {
		t.Fatal("uploaded content differs")
	}
	if _, err := db.GetUpload(u.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("session after finish: %v, want ErrNotFound", err)
	}
	if es, _ := db.ReadLog("n1", 0, 0); len(es) != 1 || es[0].Key != "big/file.bin" {
		t.Fatalf("log=%+v, want one entry", es)
	}
	if s := db.mustStats(); s.Uploads != 0 || s.Blobs != 1 {
		t.Fatalf("Stats=%+v", s)
	}
}

func TestDB_UploadDigestMismatch(t *testing.T) {
	db := mustOpenDBOpts(t, Options{ChunkSize: 100})
	u, err := db.BeginUpload("k", "", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	data := randBytes(8, 1234)
	if _, err := db.AppendUpload(u.ID, 0, data); err != nil {
		t.Fatal(err)
	}
	if _, err := db.FinishUpload(u.ID, shaHex([]byte("else"))); !errors.Is(err, ErrDigestMismatch) {
		t.Fatalf("FinishUpload: %v, want ErrDigestMismatch", err)
	}
	if _, err := db.GetUpload(u.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("session after mismatch: %v, want dropped", err)
	}
	if _, err := db.Get("k"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("object after mismatch: %v, want none", err)
	}
	if s := db.mustStats(); s.Chunks != 0 || s.Blobs != 0 || s.Uploads != 0 {
		t.Fatalf("left behind: %+v", s)
	}
	if heads, _ := db.Heads(); len(heads) != 0 {
		t.Fatalf("log grew: %v", heads)
	}
}

func TestDB_UploadDedup(t *testing.T) {
	db := mustOpenDBOpts(t, Options{ChunkSize: 100})
	data := randBytes(9, 450)
	db.mustPut("a", data)
	u, _ := db.BeginUpload("b", "", nil, 0)
	if _, err := db.AppendUpload(u.ID, 0, data); err != nil {
		t.Fatal(err)
	}
	if _, err := db.FinishUpload(u.ID, ""); err != nil {
		t.Fatal(err)
	}
	if s := db.mustStats(); s.Blobs != 1 || s.Chunks != 5 {
		t.Fatalf("Stats=%+v, want one blob of 5 chunks", s)
	}
}

func TestDB_AbortExpireUploads(t *testing.T) {
	clock := newFakeClock()
	db := mustOpenDBOpts(t, Options{ChunkSize: 100, Clock: clock.Now})
	a, _ := db.BeginUpload("a", "", nil, 0)
	b, _ := db.BeginUpload("b", "", nil, 0)
	c, _ := db.BeginUpload("c", "", nil, 0)
	for _, id := range []string{a.ID, b.ID, c.ID} {
		if _, err := db.AppendUpload(id, 0, randBytes(10, 250)); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.AbortUpload(a.ID); err != nil {
		t.Fatalf("AbortUpload: %v", err)
	}
	if err := db.AbortUpload(a.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second AbortUpload: %v, want ErrNotFound", err)
	}
	clock.Add(2 * time.Hour)
	if _, err := db.AppendUpload(c.ID, 250, []byte("more")); err != nil {
		t.Fatal(err)
	}
	clock.Add(30 * time.Minute)
	n, err := db.ExpireUploads(time.Hour)
	if err != nil || n != 1 {
		t.Fatalf("ExpireUploads=%d, %v; want 1", n, err)
	}
	if _, err := db.GetUpload(b.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("idle session kept: %v", err)
	}
	if _, err := db.GetUpload(c.ID); err != nil {
		t.Fatalf("active session expired: %v", err)
	}
	if s := db.mustStats(); s.Uploads != 1 || s.Chunks != 3 {
		t.Fatalf("Stats=%+v, want c's session and its 3 chunks", s)
	}
}

func TestDB_UploadMaxSize(t *testing.T) {
	db := mustOpenDBOpts(t, Options{MaxObjectSize: 100})
	if _, err := db.BeginUpload("k", "", nil, 101); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("BeginUpload: %v, want ErrTooLarge", err)
	}
	u, err := db.BeginUpload("k", "", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.AppendUpload(u.ID, 0, make([]byte, 101)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("AppendUpload: %v, want ErrTooLarge", err)
	}
}

// TestDB_UploadGrowingTail appends pieces that grow a plain-value chunk
// past subBucketMin and then past mergeBelow, with the default chunk size.
func TestDB_UploadGrowingTail(t *testing.T) {
	db := mustOpenDB(t)
	data := randBytes(14, 200<<10)
	u, err := db.BeginUpload("k", "", nil, int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	off := 0
	for _, n := range []int{1000, 1000, 1000, 30 << 10, 40 << 10, 1, 100 << 10} {
		if _, err := db.AppendUpload(u.ID, int64(off), data[off:off+n]); err != nil {
			t.Fatalf("AppendUpload %d at %d: %v", n, off, err)
		}
		off += n
	}
	if _, err := db.AppendUpload(u.ID, int64(off), data[off:]); err != nil {
		t.Fatal(err)
	}
	if _, err := db.FinishUpload(u.ID, shaHex(data)); err != nil {
		t.Fatalf("FinishUpload: %v", err)
	}
	if got := db.mustRead("k"); !bytes.Equal(got, data) {
		t.Fatal("content differs")
	}
}
