package storage

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"
)

func TestDB_Variants(t *testing.T) {
	clock := newFakeClock()
	db := mustOpenDBOpts(t, Options{Clock: clock.Now})
	src := db.mustPut("cat.jpg", randBytes(11, 5000))
	put := func(width int, pre bool) {
		t.Helper()
		clock.Add(time.Second)
		err := db.PutVariant(Variant{
			SourceSHA256: src.SHA256, Width: width, Height: width / 2,
			ContentType: "image/jpeg", Precomputed: pre, Data: randBytes(uint64(width), width),
		})
		if err != nil {
			t.Fatalf("PutVariant(%d): %v", width, err)
		}
	}
	put(800, true)
	put(200, false)
	put(400, true)
	put(100, false)

	infos, err := db.Variants(src.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	var widths []int
	for _, vi := range infos {
		widths = append(widths, vi.Width)
	}
	if got, want := widths, []int{100, 200, 400, 800}; !equalInts(got, want) {
		t.Fatalf("Variants widths=%v, want %v", got, want)
	}
	if vi := infos[3]; vi.Height != 400 || vi.Bytes != 800 || !vi.Precomputed || vi.ContentType != "image/jpeg" {
		t.Fatalf("Variants[3]=%+v", vi)
	}
	v, err := db.GetVariant(src.SHA256, 200)
	if err != nil {
		t.Fatal(err)
	}
	if v.Height != 100 || v.Precomputed || !bytes.Equal(v.Data, randBytes(200, 200)) {
		t.Fatalf("GetVariant=%+v", v)
	}
	if _, err := db.GetVariant(src.SHA256, 300); !errors.Is(err, ErrNotFound) {
		t.Fatalf("GetVariant(300): %v, want ErrNotFound", err)
	}

	t.Run("DynamicIndex", func(t *testing.T) {
		if n, err := db.CountDynamicVariants(); err != nil || n != 2 {
			t.Fatalf("CountDynamicVariants=%d, %v; want 2", n, err)
		}
		refs, err := db.DynamicVariants(0)
		if err != nil {
			t.Fatal(err)
		}
		if len(refs) != 2 || refs[0].Width != 200 || refs[1].Width != 100 || refs[0].SourceSHA256 != src.SHA256 {
			t.Fatalf("DynamicVariants=%+v, want 200 then 100 (oldest first)", refs)
		}
		// Replacing a dynamic variant moves it to the back, not twice in.
		put(200, false)
		refs, _ = db.DynamicVariants(0)
		if len(refs) != 2 || refs[0].Width != 100 {
			t.Fatalf("after replace: %+v", refs)
		}
		if err := db.DeleteVariant(src.SHA256, 100); err != nil {
			t.Fatal(err)
		}
		if err := db.DeleteVariant(src.SHA256, 100); !errors.Is(err, ErrNotFound) {
			t.Fatalf("second DeleteVariant: %v, want ErrNotFound", err)
		}
		if n, _ := db.CountDynamicVariants(); n != 1 {
			t.Fatalf("count after delete=%d, want 1", n)
		}
	})
	t.Run("NoSource", func(t *testing.T) {
		err := db.PutVariant(Variant{SourceSHA256: shaHex([]byte("none")), Width: 10, Data: []byte("x")})
		if !errors.Is(err, ErrNotFound) {
			t.Fatalf("PutVariant without source: %v, want ErrNotFound", err)
		}
	})
	t.Run("FreedWithBlob", func(t *testing.T) {
		if _, err := db.Delete("cat.jpg"); err != nil {
			t.Fatal(err)
		}
		if infos, _ := db.Variants(src.SHA256); len(infos) != 0 {
			t.Fatalf("variants outlived their blob: %+v", infos)
		}
		if n, _ := db.CountDynamicVariants(); n != 0 {
			t.Fatalf("dynamic count=%d, want 0", n)
		}
		if refs, _ := db.DynamicVariants(0); len(refs) != 0 {
			t.Fatalf("index kept %+v", refs)
		}
	})
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestDB_Peers(t *testing.T) {
	db := mustOpenDB(t)
	for _, p := range []Peer{
		{ID: "n3", URL: "http://127.0.0.1:3", Provider: "gcp", Version: 3},
		{ID: "n2", URL: "http://127.0.0.1:2", Provider: "aws", Version: 2},
	} {
		if err := db.PutPeer(p); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.PutPeer(Peer{ID: "n3", URL: "http://127.0.0.1:3", Version: 9, Removed: true}); err != nil {
		t.Fatal(err)
	}
	peers, err := db.Peers()
	if err != nil {
		t.Fatal(err)
	}
	if len(peers) != 2 || peers[0].ID != "n2" || peers[0].Provider != "aws" || peers[1].ID != "n3" || !peers[1].Removed || peers[1].Version != 9 {
		t.Fatalf("Peers=%+v", peers)
	}
	if v := db.Now(); v <= 9 {
		t.Fatalf("Now()=%d, want past the peer versions", v)
	}
	if err := db.PutPeer(Peer{}); err == nil {
		t.Fatal("PutPeer without id succeeded")
	}
}

func TestDB_PutBlobSweep(t *testing.T) {
	clock := newFakeClock()
	db := mustOpenDBOpts(t, Options{ChunkSize: 100, Clock: clock.Now})
	db.batch = 200
	data := randBytes(12, 1000)
	if err := db.PutBlob(context.Background(), bytes.NewReader(data), shaHex([]byte("x"))); !errors.Is(err, ErrDigestMismatch) {
		t.Fatalf("PutBlob wrong digest: %v, want ErrDigestMismatch", err)
	}
	if s := db.mustStats(); s.Chunks != 0 {
		t.Fatalf("mismatch left chunks: %+v", s)
	}
	if err := db.PutBlob(context.Background(), bytes.NewReader(data), shaHex(data)); err != nil {
		t.Fatal(err)
	}
	// A second PutBlob of a stored blob reads nothing.
	if err := db.PutBlob(context.Background(), errReader{}, shaHex(data)); err != nil {
		t.Fatalf("PutBlob of stored blob: %v", err)
	}
	kept := randBytes(13, 10)
	db.mustPut("kept", kept)
	clock.Add(30 * time.Minute)
	if n, err := db.SweepBlobs(time.Hour); err != nil || n != 0 {
		t.Fatalf("early SweepBlobs=%d, %v; want 0", n, err)
	}
	clock.Add(time.Hour)
	if n, err := db.SweepBlobs(time.Hour); err != nil || n != 1 {
		t.Fatalf("SweepBlobs=%d, %v; want 1", n, err)
	}
	if ok, _ := db.HasBlob(shaHex(data)); ok {
		t.Fatal("orphan blob kept")
	}
	if ok, _ := db.HasBlob(shaHex(kept)); !ok {
		t.Fatal("referenced blob swept")
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("must not be read") }
