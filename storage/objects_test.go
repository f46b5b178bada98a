package storage

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

func TestDB_PutGetListDelete(t *testing.T) {
	db := mustOpenDB(t)
	data := []byte("hello, metacdn")
	o, err := db.Put(context.Background(), PutRequest{
		Key: "images/cat.jpg", ContentType: "image/jpeg", Meta: map[string]string{"owner": "ann"},
		Body: bytes.NewReader(data), SHA256: shaHex(data),
	})
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	if got, want := o.SHA256, shaHex(data); got != want {
		t.Fatalf("SHA256=%s, want %s", got, want)
	}
	if got, want := o.Size, int64(len(data)); got != want {
		t.Fatalf("Size=%d, want %d", got, want)
	}
	if o.Origin != "n1" || o.Version == 0 || o.Modified.IsZero() {
		t.Fatalf("Put stamped %+v", o)
	}
	got, err := db.Get("images/cat.jpg")
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if got.ContentType != "image/jpeg" || got.Meta["owner"] != "ann" || got.Version != o.Version || !got.Modified.Equal(o.Modified) {
		t.Fatalf("Get=%+v, want %+v", got, o)
	}
	if b := db.mustRead("images/cat.jpg"); !bytes.Equal(b, data) {
		t.Fatalf("content=%q, want %q", b, data)
	}

	db.mustPut("images/dog.jpg", []byte("woof"))
	db.mustPut("images/emu.jpg", []byte("emu"))
	db.mustPut("imagesX", []byte("x"))
	db.mustPut("docs/a.txt", []byte("a"))

	for _, tc := range []struct {
		name          string
		prefix, after string
		limit         int
		want          []string
	}{
		{name: "Prefix", prefix: "images/", want: []string{"images/cat.jpg", "images/dog.jpg", "images/emu.jpg"}},
		{name: "After", prefix: "images/", after: "images/cat.jpg", want: []string{"images/dog.jpg", "images/emu.jpg"}},
		{name: "Limit", prefix: "images/", limit: 2, want: []string{"images/cat.jpg", "images/dog.jpg"}},
		{name: "All", want: []string{"docs/a.txt", "images/cat.jpg", "images/dog.jpg", "images/emu.jpg", "imagesX"}},
		{name: "AfterBeforePrefix", prefix: "images/", after: "a", want: []string{"images/cat.jpg", "images/dog.jpg", "images/emu.jpg"}},
		{name: "AfterPastPrefix", prefix: "images/", after: "z"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			objs, err := db.List(tc.prefix, tc.after, tc.limit)
			if err != nil {
				t.Fatalf("List: %v", err)
			}
			var keys []string
			for _, o := range objs {
				keys = append(keys, o.Key)
			}
			if got, want := strings.Join(keys, ","), strings.Join(tc.want, ","); got != want {
				t.Fatalf("List=%s, want %s", got, want)
			}
		})
	}

	tomb, err := db.Delete("images/dog.jpg")
	if err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if !tomb.Deleted || tomb.Version <= o.Version {
		t.Fatalf("tombstone %+v", tomb)
	}
	if _, err := db.Get("images/dog.jpg"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get after Delete: %v, want ErrNotFound", err)
	}
	if _, err := db.Delete("images/dog.jpg"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second Delete: %v, want ErrNotFound", err)
	}
	if _, _, err := db.OpenObject("images/dog.jpg"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("OpenObject after Delete: %v, want ErrNotFound", err)
	}
	objs, _ := db.List("images/", "", 0)
	if got, want := len(objs), 2; got != want {
		t.Fatalf("List after Delete: %d objects, want %d", got, want)
	}
	s := db.mustStats()
	if s.Objects != 4 || s.Tombstones != 1 || s.Blobs != 4 {
		t.Fatalf("Stats=%+v", s)
	}
}

func TestDB_PutBadKey(t *testing.T) {
	db := mustOpenDB(t)
	for _, key := range []string{"", "../etc/passwd", "a//b", "a\x00b"} {
		if _, err := db.Put(context.Background(), PutRequest{Key: key, Body: strings.NewReader("x")}); !errors.Is(err, ErrBadKey) {
			t.Fatalf("Put(%q): %v, want ErrBadKey", key, err)
		}
		if _, err := db.Delete(key); !errors.Is(err, ErrBadKey) {
			t.Fatalf("Delete(%q): %v, want ErrBadKey", key, err)
		}
		if _, err := db.BeginUpload(key, "", nil, 0); !errors.Is(err, ErrBadKey) {
			t.Fatalf("BeginUpload(%q): %v, want ErrBadKey", key, err)
		}
	}
}

func TestDB_Dedup(t *testing.T) {
	db := mustOpenDBOpts(t, Options{ChunkSize: 1000})
	data := randBytes(1, 4500) // five chunks
	db.mustPut("a", data)
	db.mustPut("b", data)
	s := db.mustStats()
	if s.Blobs != 1 || s.Chunks != 5 || s.BlobBytes != 4500 {
		t.Fatalf("after two equal puts: %+v, want one blob of 5 chunks", s)
	}
	if _, err := db.Delete("a"); err != nil {
		t.Fatal(err)
	}
	if s := db.mustStats(); s.Blobs != 1 {
		t.Fatalf("blob freed while b holds it: %+v", s)
	}
	if b := db.mustRead("b"); !bytes.Equal(b, data) {
		t.Fatal("b's content changed")
	}
	// Overwriting b frees the old blob.
	db.mustPut("b", []byte("new"))
	s = db.mustStats()
	if s.Blobs != 1 || s.Chunks != 1 || s.BlobBytes != 3 {
		t.Fatalf("after overwrite: %+v, want the new blob only", s)
	}
	// Writing the same content again keeps one reference.
	db.mustPut("b", []byte("new"))
	if _, err := db.Delete("b"); err != nil {
		t.Fatal(err)
	}
	if s := db.mustStats(); s.Blobs != 0 || s.Chunks != 0 || s.BlobBytes != 0 {
		t.Fatalf("after deleting all: %+v, want nothing stored", s)
	}
}

func TestDB_PutDigestMismatch(t *testing.T) {
	db := mustOpenDBOpts(t, Options{ChunkSize: 1000})
	db.batch = 2000 // several batches commit before the digest is known
	data := randBytes(2, 9999)
	_, err := db.Put(context.Background(), PutRequest{Key: "k", Body: bytes.NewReader(data), SHA256: shaHex([]byte("other"))})
	if !errors.Is(err, ErrDigestMismatch) {
		t.Fatalf("Put: %v, want ErrDigestMismatch", err)
	}
	if s := db.mustStats(); s != (Stats{FileBytes: s.FileBytes}) {
		t.Fatalf("after mismatch: %+v, want nothing", s)
	}
	if heads, _ := db.Heads(); len(heads) != 0 {
		t.Fatalf("Heads=%v after mismatch, want none", heads)
	}
	if _, err := db.Put(context.Background(), PutRequest{Key: "k", Body: bytes.NewReader(data), SHA256: "zz"}); !errors.Is(err, ErrDigestMismatch) {
		t.Fatalf("Put with malformed digest: %v, want ErrDigestMismatch", err)
	}
}

func TestDB_PutTooLarge(t *testing.T) {
	db := mustOpenDBOpts(t, Options{ChunkSize: 100, MaxObjectSize: 1000})
	db.batch = 200
	if _, err := db.Put(context.Background(), PutRequest{Key: "k", Body: bytes.NewReader(make([]byte, 1001))}); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Put: %v, want ErrTooLarge", err)
	}
	if s := db.mustStats(); s.Chunks != 0 {
		t.Fatalf("chunks left: %+v", s)
	}
	db.mustPut("k", make([]byte, 1000))
}

func TestDB_PutCanceled(t *testing.T) {
	db := mustOpenDBOpts(t, Options{ChunkSize: 100})
	db.batch = 100
	ctx, cancel := context.WithCancel(context.Background())
	r := &cancelAfter{r: &patternReader{n: 10000}, n: 500, cancel: cancel}
	if _, err := db.Put(ctx, PutRequest{Key: "k", Body: r}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Put: %v, want context.Canceled", err)
	}
	if s := db.mustStats(); s.Chunks != 0 || s.Objects != 0 {
		t.Fatalf("left behind: %+v", s)
	}
}

// TestDB_PutClosedMidway closes the database while a Put streams: a
// batch committing in the background fails, and Put reports it rather
// than an object.
func TestDB_PutClosedMidway(t *testing.T) {
	db := mustOpenDBOpts(t, Options{ChunkSize: 100})
	db.batch = 200
	r := &hookReader{r: &patternReader{n: 10000}, at: 1000, hook: func() { db.Close() }}
	if _, err := db.Put(context.Background(), PutRequest{Key: "k", Body: r}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Put: %v, want ErrClosed", err)
	}
	db.open() // as a restart would: the batches already committed go
	if s := db.mustStats(); s.Chunks != 0 || s.Objects != 0 {
		t.Fatalf("left behind: %+v", s)
	}
}

// hookReader calls hook once when at bytes have been read.
type hookReader struct {
	r    io.Reader
	n    int64
	at   int64
	hook func()
}

func (h *hookReader) Read(p []byte) (int, error) {
	if h.n >= h.at && h.hook != nil {
		h.hook()
		h.hook = nil
	}
	n, err := h.r.Read(p)
	h.n += int64(n)
	return n, err
}

type cancelAfter struct {
	r      *patternReader
	n      int64
	cancel func()
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	if c.r.off >= c.n {
		c.cancel()
	}
	return c.r.Read(p)
}

func TestDB_EmptyObject(t *testing.T) {
	db := mustOpenDB(t)
	o := db.mustPut("empty", nil)
	if o.Size != 0 || o.SHA256 != shaHex(nil) {
		t.Fatalf("empty Put=%+v", o)
	}
	if b := db.mustRead("empty"); len(b) != 0 {
		t.Fatalf("content=%q, want empty", b)
	}
}

func TestDB_Reopen(t *testing.T) {
	clock := newFakeClock()
	db := mustOpenDBOpts(t, Options{ChunkSize: 1000, Clock: clock.Now})
	data := randBytes(3, 3500)
	o := db.mustPut("x/y", data)
	db.mustPut("gone", []byte("bye"))
	if _, err := db.Delete("gone"); err != nil {
		t.Fatal(err)
	}
	if err := db.PutPeer(Peer{ID: "n2", URL: "http://127.0.0.1:1", Version: 5}); err != nil {
		t.Fatal(err)
	}
	clock.Add(-time.Hour)
	db.reopen()
	got, err := db.Get("x/y")
	if err != nil {
		t.Fatalf("Get after reopen: %v", err)
	}
	if got.Version != o.Version || got.SHA256 != o.SHA256 {
		t.Fatalf("Get=%+v, want %+v", got, o)
	}
	if b := db.mustRead("x/y"); !bytes.Equal(b, data) {
		t.Fatal("content changed across reopen")
	}
	if _, err := db.Get("gone"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get(gone)=%v, want ErrNotFound", err)
	}
	heads, err := db.Heads()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := heads["n1"], uint64(3); got != want {
		t.Fatalf("head=%d, want %d", got, want)
	}
	if peers, _ := db.Peers(); len(peers) != 1 || peers[0].URL != "http://127.0.0.1:1" {
		t.Fatalf("Peers=%+v", peers)
	}
	// The clock resumes past the last local write even when wall time
	// went backwards across the restart.
	if o2 := db.mustPut("x/z", []byte("z")); o2.Version <= o.Version {
		t.Fatalf("version after reopen %d <= %d", o2.Version, o.Version)
	}
}

func TestDB_RecoverInterruptedPut(t *testing.T) {
	db := mustOpenDBOpts(t, Options{ChunkSize: 100})
	db.batch = 100
	in := db.newIngest()
	if _, _, err := in.readAll(context.Background(), &patternReader{n: 1000}, 0); err != nil {
		t.Fatal(err)
	}
	if err := in.wait(); err != nil {
		t.Fatal(err)
	}
	// The process "dies" here: no finish, no abort.
	if s := db.mustStats(); s.Chunks == 0 {
		t.Fatal("batches were not committed before finish")
	}
	db.reopen()
	if s := db.mustStats(); s.Chunks != 0 {
		t.Fatalf("interrupted put left %d chunks after reopen", s.Chunks)
	}
}

func TestDB_OnAppend(t *testing.T) {
	var n int
	db := mustOpenDBOpts(t, Options{OnAppend: func() { n++ }})
	db.mustPut("a", []byte("1"))
	if _, err := db.Delete("a"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Delete("a"); err == nil {
		t.Fatal("second delete succeeded")
	}
	if got, want := n, 2; got != want {
		t.Fatalf("OnAppend called %d times, want %d", got, want)
	}
}

func TestDB_Closed(t *testing.T) {
	db := mustOpenDB(t)
	db.mustPut("a", []byte("abc"))
	_, br, err := db.OpenObject("a")
	if err != nil {
		t.Fatal(err)
	}
	br.buf = nil // force a read from the database
	db.check()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Get("a"); !errors.Is(err, ErrClosed) {
		t.Fatalf("Get after Close: %v, want ErrClosed", err)
	}
	if _, err := br.Read(make([]byte, 3)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Read after Close: %v, want ErrClosed", err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}
