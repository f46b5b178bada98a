package storage

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// Run with:
//
//	go test ./storage -run '^$' -bench . -benchtime 5x
//
// DESIGN.md records the figures measured on the project's machine.

const benchObject = 64 << 20

// BenchmarkPut_ChunkSize ingests a 64 MiB object per op at several chunk
// sizes (batches of DefaultBatchBytes, fsync on).
func BenchmarkPut_ChunkSize(b *testing.B) {
	data := randBytes(1, benchObject)
	for _, cs := range []int{256 << 10, 1 << 20, 2 << 20, 4 << 20, 8 << 20, 16 << 20} {
		b.Run(fmt.Sprintf("%dKiB", cs>>10), func(b *testing.B) {
			db := mustOpenDBOpts(b, Options{ChunkSize: cs})
			b.SetBytes(benchObject)
			b.ResetTimer()
			for i := range b.N {
				// A distinct first byte per op defeats dedup.
				data[0] = byte(i)
				if _, err := db.Put(context.Background(), PutRequest{Key: "k", Body: bytes.NewReader(data)}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkIngest compares Put of 64 MiB with writing the same bytes to a
// plain file and fsyncing it: the floor a disk-backed store can reach.
func BenchmarkIngest(b *testing.B) {
	data := randBytes(2, benchObject)
	b.Run("Put", func(b *testing.B) {
		db := mustOpenDB(b)
		b.SetBytes(benchObject)
		b.ResetTimer()
		for i := range b.N {
			data[0] = byte(i)
			if _, err := db.Put(context.Background(), PutRequest{Key: "k", Body: bytes.NewReader(data)}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Put_Batch1", func(b *testing.B) {
		// One chunk per transaction, for comparison with batching.
		db := mustOpenDB(b)
		db.batch = 1
		b.SetBytes(benchObject)
		b.ResetTimer()
		for i := range b.N {
			data[0] = byte(i)
			if _, err := db.Put(context.Background(), PutRequest{Key: "k", Body: bytes.NewReader(data)}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("WriteFileFsync", func(b *testing.B) {
		dir := b.TempDir()
		b.SetBytes(benchObject)
		b.ResetTimer()
		for i := range b.N {
			path := filepath.Join(dir, fmt.Sprintf("f%d", i))
			if err := os.WriteFile(path, data, 0o600); err != nil {
				b.Fatal(err)
			}
			f, err := os.Open(path)
			if err != nil {
				b.Fatal(err)
			}
			if err := f.Sync(); err != nil {
				b.Fatal(err)
			}
			f.Close()
			b.StopTimer()
			os.Remove(path)
			b.StartTimer()
		}
	})
}

// BenchmarkPut_Small measures many small objects (one transaction each).
func BenchmarkPut_Small(b *testing.B) {
	data := randBytes(3, 10<<10)
	db := mustOpenDB(b)
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for i := range b.N {
		data[0], data[1], data[2] = byte(i), byte(i>>8), byte(i>>16)
		if _, err := db.Put(context.Background(), PutRequest{Key: fmt.Sprintf("k%d", i), Body: bytes.NewReader(data)}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBlobReader reads a 64 MiB blob with a 32 KiB buffer as
// io.Copy would. Cold drops the file from the page cache before each op
// (close, fadvise DONTNEED, reopen) and compares madvise(WILLNEED) on and
// off; Warm reads from the page cache.
func BenchmarkBlobReader(b *testing.B) {
	db := mustOpenDB(b)
	o := db.mustPut("big", randBytes(4, benchObject))
	read := func(b *testing.B) {
		br, err := db.OpenBlob(o.SHA256)
		if err != nil {
			b.Fatal(err)
		}
		n, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{br}, make([]byte, 32<<10))
		if err != nil || n != benchObject {
			b.Fatalf("read %d, %v", n, err)
		}
		br.Close()
	}
	dropCache := func(b *testing.B) {
		b.StopTimer()
		db.reopenCold(b)
		b.StartTimer()
	}
	for _, advise := range []bool{true, false} {
		b.Run(fmt.Sprintf("Cold/madvise=%v", advise), func(b *testing.B) {
			adviseReads = advise
			defer func() { adviseReads = true }()
			b.SetBytes(benchObject)
			for range b.N {
				dropCache(b)
				read(b)
			}
		})
	}
	b.Run("Warm", func(b *testing.B) {
		read(b)
		b.SetBytes(benchObject)
		b.ResetTimer()
		for range b.N {
			read(b)
		}
	})
	b.Run("Small10KiB", func(b *testing.B) {
		db.mustPut("small", randBytes(5, 10<<10))
		b.ResetTimer()
		for range b.N {
			_, br, err := db.OpenObject("small")
			if err != nil {
				b.Fatal(err)
			}
			if _, err := io.Copy(io.Discard, br); err != nil {
				b.Fatal(err)
			}
			br.Close()
		}
	})
}

// reopenCold closes the database (unmapping it), evicts the file from the
// page cache and opens it again.
func (tdb *testDB) reopenCold(tb testing.TB) {
	if err := tdb.Close(); err != nil {
		tb.Fatal(err)
	}
	f, err := os.Open(tdb.path)
	if err != nil {
		tb.Fatal(err)
	}
	if err := unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED); err != nil {
		tb.Fatal(err)
	}
	f.Close()
	tdb.open()
}
