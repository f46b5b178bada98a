package storage

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"runtime"
	"testing"
)

func TestBlobReader(t *testing.T) {
	db := mustOpenDBOpts(t, Options{ChunkSize: 1000})
	data := randBytes(4, 10_500) // 10 full chunks and a short one
	o := db.mustPut("blob", data)
	open := func(t *testing.T) *BlobReader {
		br, err := db.OpenBlob(o.SHA256)
		if err != nil {
			t.Fatalf("OpenBlob: %v", err)
		}
		t.Cleanup(func() { br.Close() })
		return br
	}

	t.Run("ReadAll", func(t *testing.T) {
		br := open(t)
		if got, want := br.Size(), int64(len(data)); got != want {
			t.Fatalf("Size()=%d, want %d", got, want)
		}
		b, err := io.ReadAll(br)
		if err != nil || !bytes.Equal(b, data) {
			t.Fatalf("ReadAll: %d bytes, %v", len(b), err)
		}
	})
	t.Run("ReadAt", func(t *testing.T) {
		br := open(t)
		for _, tc := range []struct {
			name    string
			off, n  int
			wantN   int
			wantEOF bool
		}{
			{name: "WithinChunk", off: 10, n: 100, wantN: 100},
			{name: "ChunkStart", off: 1000, n: 1000, wantN: 1000},
			{name: "AcrossBoundary", off: 990, n: 20, wantN: 20},
			{name: "AcrossSeveral", off: 999, n: 3002, wantN: 3002},
			{name: "LastChunk", off: 10_000, n: 500, wantN: 500},
			{name: "PastEnd", off: 10_400, n: 200, wantN: 100, wantEOF: true},
			{name: "AtEnd", off: 10_500, n: 1, wantN: 0, wantEOF: true},
			{name: "Whole", off: 0, n: 10_500, wantN: 10_500},
		} {
			t.Run(tc.name, func(t *testing.T) {
				p := make([]byte, tc.n)
				n, err := br.ReadAt(p, int64(tc.off))
				if n != tc.wantN {
					t.Fatalf("ReadAt n=%d, want %d (err %v)", n, tc.wantN, err)
				}
				if tc.wantEOF != (err == io.EOF) || (!tc.wantEOF && err != nil) {
					t.Fatalf("ReadAt err=%v, want EOF %v", err, tc.wantEOF)
				}
				if !bytes.Equal(p[:n], data[tc.off:tc.off+n]) {
					t.Fatal("ReadAt returned wrong bytes")
				}
			})
		}
	})
	t.Run("SeekRead", func(t *testing.T) {
		// Compare against bytes.Reader with random seeks and read sizes,
		// as http.ServeContent does for Range requests.
		br := open(t)
		ref := bytes.NewReader(data)
		seed := uint64(42)
		t.Logf("seed %d", seed)
		r := rand.New(rand.NewPCG(seed, seed))
		for i := range 500 {
			whence := r.IntN(3)
			off := int64(r.IntN(len(data)+200)) - 100
			if whence == io.SeekStart {
				off = max(off, 0)
			}
			want, wantErr := ref.Seek(off, whence)
			got, gotErr := br.Seek(off, whence)
			if (wantErr == nil) != (gotErr == nil) || (wantErr == nil && got != want) {
				t.Fatalf("step %d Seek(%d,%d)=%d,%v; want %d,%v", i, off, whence, got, gotErr, want, wantErr)
			}
			if wantErr != nil {
				ref.Seek(0, io.SeekStart)
				br.Seek(0, io.SeekStart)
				continue
			}
			n := r.IntN(2500)
			pw, pg := make([]byte, n), make([]byte, n)
			nw, ew := io.ReadFull(ref, pw)
			ng, eg := io.ReadFull(br, pg)
			if nw != ng || !errors.Is(eg, ew) || !bytes.Equal(pw[:nw], pg[:ng]) {
				t.Fatalf("step %d read %d at %d: got %d,%v want %d,%v", i, n, want, ng, eg, nw, ew)
			}
		}
	})
	t.Run("Range", func(t *testing.T) {
		// What ServeContent does for "Range: bytes=1990-4010".
		br := open(t)
		if _, err := br.Seek(1990, io.SeekStart); err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if _, err := io.CopyN(&buf, br, 2021); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(buf.Bytes(), data[1990:4011]) {
			t.Fatal("range content differs")
		}
		if _, err := io.ReadAll(io.NewSectionReader(br, 5000, 1)); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("WriteTo", func(t *testing.T) {
		for _, start := range []int64{0, 1, 999, 1000, 10_499, 10_500} {
			br := open(t)
			if _, err := br.Seek(start, io.SeekStart); err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			n, err := br.WriteTo(&buf)
			if err != nil || n != int64(len(data))-start || !bytes.Equal(buf.Bytes(), data[start:]) {
				t.Fatalf("WriteTo from %d: %d bytes, %v", start, n, err)
			}
			if n, err := br.Read(make([]byte, 1)); n != 0 || err != io.EOF {
				t.Fatalf("Read after WriteTo: %d, %v; want EOF", n, err)
			}
		}
	})
	t.Run("Closed", func(t *testing.T) {
		br := open(t)
		if _, err := br.Read(make([]byte, 10)); err != nil {
			t.Fatal(err)
		}
		if err := br.Close(); err != nil {
			t.Fatal(err)
		}
		// A second Close must not return the buffer to the pool twice.
		if err := br.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := br.WriteTo(io.Discard); !errors.Is(err, ErrClosed) {
			t.Fatalf("WriteTo after Close: %v, want ErrClosed", err)
		}
	})
	t.Run("NotFound", func(t *testing.T) {
		if _, err := db.OpenBlob(shaHex([]byte("nope"))); !errors.Is(err, ErrNotFound) {
			t.Fatalf("OpenBlob: %v, want ErrNotFound", err)
		}
		if _, err := db.OpenBlob("bad"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("OpenBlob(bad): %v, want ErrNotFound", err)
		}
	})
	t.Run("FreedWhileOpen", func(t *testing.T) {
		other := randBytes(5, 3000)
		o2 := db.mustPut("other", other)
		br, err := db.OpenBlob(o2.SHA256)
		if err != nil {
			t.Fatal(err)
		}
		defer br.Close()
		if _, err := db.Delete("other"); err != nil {
			t.Fatal(err)
		}
		if _, err := br.ReadAt(make([]byte, 10), 0); !errors.Is(err, ErrNotFound) {
			t.Fatalf("ReadAt of freed blob: %v, want ErrNotFound", err)
		}
	})
}

func TestDB_OpenObjectSmall(t *testing.T) {
	db := mustOpenDB(t)
	data := randBytes(6, 10<<10)
	db.mustPut("small", data)
	before := db.bolt.Stats().TxN
	_, br, err := db.OpenObject("small")
	if err != nil {
		t.Fatal(err)
	}
	defer br.Close()
	b, err := io.ReadAll(br)
	if err != nil || !bytes.Equal(b, data) {
		t.Fatalf("read %d bytes, %v", len(b), err)
	}
	if got, want := db.bolt.Stats().TxN-before, 1; got != want {
		t.Fatalf("a 10 KiB GET took %d read transactions, want %d", got, want)
	}
	if _, err := br.Seek(100, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	p := make([]byte, 10)
	if _, err := io.ReadFull(br, p); err != nil || !bytes.Equal(p, data[100:110]) {
		t.Fatalf("read after seek: %v", err)
	}
}

// TestDB_OpenObjectPooled reads objects over and over through OpenObject,
// WriteTo and Close: the buffers come back to the pool, so the bytes
// allocated per read stay far under the object's size, and a buffer
// returned by one reader never shows through another's content.
func TestDB_OpenObjectPooled(t *testing.T) {
	db := mustOpenDB(t)
	small, big := randBytes(7, 10<<10), randBytes(8, 1<<20)
	db.mustPut("small", small)
	db.mustPut("big", big)
	for _, tc := range []struct {
		name string
		data []byte
	}{{"small", small}, {"big", big}} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			read := func() {
				_, br, err := db.OpenObject(tc.name)
				if err != nil {
					t.Fatal(err)
				}
				buf.Reset()
				if _, err := br.WriteTo(&buf); err != nil {
					t.Fatal(err)
				}
				br.Close()
				if !bytes.Equal(buf.Bytes(), tc.data) {
					t.Fatal("content differs")
				}
			}
			read()
			const runs = 50
			var m0, m1 runtime.MemStats
			runtime.ReadMemStats(&m0)
			for range runs {
				read()
			}
			runtime.ReadMemStats(&m1)
			perRead := (m1.TotalAlloc - m0.TotalAlloc) / runs
			// An unpooled reader allocates a buffer of the object's size
			// class every time. A pooled one allocates it only when the
			// pool comes back empty: after a GC, and, under the race
			// detector, on the quarter of Puts that sync.Pool drops on
			// purpose.
			class := uint64(readBufMin) << readBufClass(len(tc.data))
			if limit := class * 3 / 4; perRead > limit {
				t.Fatalf("%d bytes allocated per read, want under %d", perRead, limit)
			}
		})
	}
}
