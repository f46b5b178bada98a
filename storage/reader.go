package storage

import (
	"errors"
	"fmt"
	"io"

	"go.etcd.io/bbolt"
)

// readWindow is how many bytes one read transaction copies out at most:
// large enough that a transfer costs few transactions, small enough that
// each stays short and a reader's buffer stays small.
const readWindow = 1 << 20

// errBlobGone is returned when a blob's chunks disappear under an open
// reader (the blob was freed).
var errBlobGone = fmt.Errorf("blob freed while reading: %w", ErrNotFound)

// BlobReader reads a blob chunk by chunk, each read in its own short
// read transaction, copying the bytes out. It implements io.ReadSeeker
// and io.ReaderAt (ReadAt is safe for concurrent use; Read and Seek are
// not). A reader holds no transaction between calls, so a long transfer
// never blocks writers or remaps; if the blob is freed meanwhile, reads
// fail rather than return other content.
type BlobReader struct {
	db   *DB
	set  uint64
	size int64
	pos  int64

	buf    []byte // bytes at [bufOff, bufOff+len(buf)) of the blob
	bufOff int64
	pooled *[]byte // buf's backing array, from getReadBuf; nil if none
	memo   *memo   // the hot-cache entry's memo; nil if not cached

	closed bool
}

// OpenBlob opens a blob for reading.
func (db *DB) OpenBlob(sha string) (*BlobReader, error) {
	sum, err := parseSHA(sha)
	if err != nil {
		return nil, fmt.Errorf("open blob: %w", ErrNotFound)
	}
	var br *BlobReader
	err = db.view(func(tx *bbolt.Tx) (err error) {
		br, err = db.openBlobTx(tx, sum, false)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("open blob %s: %w", sha, err)
	}
	return br, nil
}

// OpenObject returns a live object's metadata and a reader of its content.
// For a blob of one chunk up to readWindow it also copies the bytes in the
// same read transaction, so a small GET costs one transaction in all; an
// object of up to 64 KiB read before is served from the hot-object cache
// with none (see hotCache). The returned Object's Meta may be shared with
// other readers: callers must not modify it.
func (db *DB) OpenObject(key string) (Object, *BlobReader, error) {
	if db.closed.Load() {
		return Object{}, nil, fmt.Errorf("open object %q: %w", key, ErrClosed)
	}
	if e, ok := db.hot.get(key); ok {
		return e.obj, &BlobReader{db: db, set: e.set, size: int64(len(e.data)), buf: e.data, memo: e.memo}, nil
	}
	gen := db.hot.generation()
	var (
		o  Object
		br *BlobReader
	)
	err := db.view(func(tx *bbolt.Tx) (err error) {
		if o, err = getLive(tx, key); err != nil {
			return err
		}
		sum, err := parseSHA(o.SHA256)
		if err != nil {
			return err
		}
		br, err = db.openBlobTx(tx, sum, true)
		return err
	})
	if err != nil {
		return Object{}, nil, fmt.Errorf("open object %q: %w", key, err)
	}
	if br.size <= hotObjectMax && int64(len(br.buf)) == br.size {
		// The cache keeps its own copy: br.buf goes back to a pool.
		e := hotEntry{obj: o, set: br.set, data: append([]byte(nil), br.buf...), memo: new(memo)}
		if db.hot.add(gen, e) {
			br.memo = e.memo
		}
	}
	return o, br, nil
}

// Memo returns the value last given to SetMemo by a reader of the same
// cached object state, or nil. A caller keeps there what it derives from
// the Object that OpenObject returned with this reader (its HTTP headers,
// say), so that the next reads of a hot object derive nothing anew; any
// write drops the cache, and with it the memo.
func (br *BlobReader) Memo() any {
	if br.memo == nil {
		return nil
	}
	if p := br.memo.v.Load(); p != nil {
		return *p
	}
	return nil
}

// SetMemo keeps v with the cached object state this reader reads, for
// Memo; it does nothing when the object is not in the hot-object cache. v
// must be derived from that state alone and must not change afterwards:
// concurrent readers share it.
func (br *BlobReader) SetMemo(v any) {
	if br.memo != nil {
		br.memo.v.Store(&v)
	}
}

func (db *DB) openBlobTx(tx *bbolt.Tx, sum [32]byte, preload bool) (*BlobReader, error) {
	v := tx.Bucket(bucketBlobs).Get(sum[:])
	if v == nil {
		return nil, ErrNotFound
	}
	rec, err := decodeBlobRecord(v)
	if err != nil {
		return nil, err
	}
	br := &BlobReader{db: db, set: rec.Set, size: rec.Size}
	if preload && rec.Size > 0 && rec.Size <= readWindow {
		if chunk := getChunk(tx.Bucket(bucketChunks), chunkKey(rec.Set, 0)); int64(len(chunk)) == rec.Size {
			br.pooled = getReadBuf(len(chunk))
			br.buf = *br.pooled
			copy(br.buf, chunk)
		}
	}
	return br, nil
}

// Size is the blob's length in bytes.
func (br *BlobReader) Size() int64 { return br.size }

// Read reads from the current position, refilling its buffer (up to
// readWindow bytes) in one read transaction when it runs dry.
func (br *BlobReader) Read(p []byte) (int, error) {
	if br.closed {
		return 0, ErrClosed
	}
	if br.pos >= br.size {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	if err := br.fill(); err != nil {
		return 0, err
	}
	n := copy(p, br.buf[br.pos-br.bufOff:])
	br.pos += int64(n)
	return n, nil
}

// fill makes the buffer hold the byte at pos (< size), refilling it with
// up to readWindow bytes in one read transaction if it does not.
func (br *BlobReader) fill() error {
	if br.pos >= br.bufOff && br.pos < br.bufOff+int64(len(br.buf)) {
		return nil
	}
	n := int(min(int64(readWindow), br.size-br.pos))
	if br.pooled == nil || cap(*br.pooled) < n {
		br.release()
		br.pooled = getReadBuf(n)
	}
	br.buf = (*br.pooled)[:n]
	got, err := br.db.readRange(br.set, br.buf, br.pos)
	br.buf = br.buf[:got]
	br.bufOff = br.pos
	if got == 0 {
		if err == nil {
			err = io.ErrUnexpectedEOF
		}
		return err
	}
	return nil
}

// WriteTo writes the blob from the current position to its end to w,
// straight from the reader's buffer (one copy out of bbolt per window,
// none into a caller's buffer). No read transaction is open while w
// runs: a slow client holds back no writer or remap.
func (br *BlobReader) WriteTo(w io.Writer) (int64, error) {
	if br.closed {
		return 0, ErrClosed
	}
	var total int64
	for br.pos < br.size {
		if err := br.fill(); err != nil {
			return total, err
		}
		n, err := w.Write(br.buf[br.pos-br.bufOff:])
		br.pos += int64(n)
		total += int64(n)
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// ReadAt reads len(p) bytes at off, one read transaction per readWindow
// bytes, without moving the position.
func (br *BlobReader) ReadAt(p []byte, off int64) (int, error) {
	if br.closed {
		return 0, ErrClosed
	}
	if off < 0 {
		return 0, errors.New("blob read at negative offset")
	}
	var total int
	for total < len(p) {
		if off >= br.size {
			return total, io.EOF
		}
		want := min(len(p)-total, readWindow, int(br.size-off))
		n, err := br.db.readRange(br.set, p[total:total+want], off)
		total += n
		off += int64(n)
		if err != nil {
			return total, err
		}
		if n < want {
			return total, errBlobGone
		}
	}
	return total, nil
}

// Seek sets the position for the next Read.
func (br *BlobReader) Seek(offset int64, whence int) (int64, error) {
	if br.closed {
		return 0, ErrClosed
	}
	var abs int64
	switch whence {
	case io.SeekStart:
		abs = offset
	case io.SeekCurrent:
		abs = br.pos + offset
	case io.SeekEnd:
		abs = br.size + offset
	default:
		return 0, errors.New("blob seek: bad whence")
	}
	if abs < 0 {
		return 0, errors.New("blob seek: negative position")
	}
	br.pos = abs
	return abs, nil
}

// Close returns the buffer to its pool; later calls fail with ErrClosed.
// It must not run concurrently with another method.
func (br *BlobReader) Close() error {
	if br.closed {
		return nil
	}
	br.closed = true
	br.release()
	return nil
}

func (br *BlobReader) release() {
	if br.pooled != nil {
		putReadBuf(br.pooled)
	}
	br.pooled, br.buf, br.bufOff = nil, nil, 0
}

// readRange copies the blob bytes at off into p in one read transaction,
// walking the set's chunks from the one that holds off. It returns fewer
// bytes than len(p) only if chunks are missing (errBlobGone).
func (db *DB) readRange(set uint64, p []byte, off int64) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	var n int
	err := db.view(func(tx *bbolt.Tx) error {
		n = 0
		return walkChunks(tx, set, off, func(v []byte) bool {
			// Advise the rest of the chunk, not just this window: the
			// kernel reads it while this window is copied and sent, and
			// the next reads find their pages in flight or cached.
			willNeed(v, 0, len(v))
			n += copy(p[n:], v)
			return n < len(p)
		})
	})
	return n, err
}
