package storage

import (
	"context"
	"encoding"
	"fmt"
	"hash"
	"io"
	"math"

	"go.etcd.io/bbolt"
)

// UploadWriter appends a stream of bytes to an upload session. AppendUpload
// commits each call before it returns, so a client that waits for every
// answer makes the network and the disk take turns; an UploadWriter
// instead cuts what it is given into chunks and commits them in batches in
// the background while the next bytes arrive, as Put does. Each batch
// commits the chunks together with the session's size and hash state, so
// a stream that breaks off leaves a session that resumes from its last
// batch. The bytes of the batch being filled are not yet in the session.
//
// A batch does not wait for its hash: it stores the latest state the hash
// pipe has, which may lag the chunks committed, and the offset it covers
// (HashedTo). Resuming hashes the stored bytes in between (sessionHash).
// Waiting held each commit to the chunks hashed so far: on this project's
// 2-core machine the hash lagged the network, and a 64 MiB Protobuf
// upload made a commit, with its two fdatasyncs, for nearly every chunk.
//
// An UploadWriter is used by one goroutine. Close it (after Finish or
// Commit too) to return its buffers.
type UploadWriter struct {
	db       *DB
	id       string
	in       *ingest
	h        hash.Hash
	off      int64    // session offset after everything written
	hashFrom int64    // session offset where the hash pipe started
	limit    int64    // largest size allowed; 0 for none
	cur      []byte   // the chunk being filled
	held     [][]byte // full chunks ReadContent holds until Accept
	holding  bool     // since ReadContent, until Accept
	done     bool
	err      error  // the first failure; the writer takes nothing after it
	release  func() // lets the next writer have the session; nil once called
}

// AppendStream opens a writer that appends to session id from the bytes it
// has received. If another writer still holds the session, it waits for
// that one to close, or returns ErrSessionBusy when ctx ends.
func (db *DB) AppendStream(ctx context.Context, id string) (*UploadWriter, error) {
	release, err := db.writers.acquire(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("append stream: %w", err)
	}
	var rec uploadRecord
	err = db.view(func(tx *bbolt.Tx) (err error) {
		rec, err = getUpload(tx, id)
		return err
	})
	if err != nil {
		release()
		return nil, fmt.Errorf("append stream %s: %w", id, err)
	}
	var h hash.Hash
	err = db.view(func(tx *bbolt.Tx) (err error) {
		h, err = sessionHash(tx, rec)
		return err
	})
	if err != nil {
		release()
		return nil, fmt.Errorf("append stream %s: %w", id, err)
	}
	w := &UploadWriter{
		db: db, id: id, in: db.newIngest(), h: h, release: release,
		off: rec.Received, hashFrom: rec.Received, limit: db.maxSize,
	}
	if rec.TotalSize > 0 && (w.limit == 0 || rec.TotalSize < w.limit) {
		w.limit = rec.TotalSize
	}
	w.in.off = rec.Received
	w.in.prepare = w.prepare
	w.in.hashed(h, true)
	return w, nil
}

// Offset is the session offset the next byte written lands at.
func (w *UploadWriter) Offset() int64 { return w.off }

// Write appends p. It fails with ErrTooLarge past the session's declared
// size or the largest object allowed, and with the error of an earlier
// batch's commit.
func (w *UploadWriter) Write(p []byte) (int, error) {
	if err := w.check(int64(len(p))); err != nil {
		return 0, err
	}
	n := len(p)
	err := w.fill(int64(n), func(dst []byte) (int, error) {
		k := copy(dst, p)
		p = p[k:]
		return k, nil
	})
	return n - len(p), err
}

// ReadContent appends the next n bytes of r, read straight into the chunk
// buffers, and holds them: no batch takes them until Accept. A caller that
// learns only after the bytes whether they are good (the fields after a
// Protobuf message's content) accepts them then; if it never does, Close
// drops them with the rest not committed. It fails as Write does, and if
// r ends before n bytes; the writer then takes nothing more.
func (w *UploadWriter) ReadContent(r io.Reader, n int64) error {
	if err := w.check(n); err != nil {
		return err
	}
	w.holding = true
	err := w.fill(n, func(dst []byte) (int, error) { return io.ReadFull(r, dst) })
	if err != nil && w.err == nil {
		w.err = fmt.Errorf("append stream %s: %w", w.id, err)
	}
	return err
}

// Accept passes on the bytes held since ReadContent.
func (w *UploadWriter) Accept() error {
	w.holding = false
	for len(w.held) > 0 {
		c := w.held[0]
		w.held = w.held[1:]
		if err := w.add(c); err != nil {
			return err
		}
	}
	w.held = nil
	return nil
}

// check refuses n more bytes past the limit, or after a failure.
func (w *UploadWriter) check(n int64) error {
	if w.err != nil {
		return w.err
	}
	if w.done {
		return fmt.Errorf("append stream %s: writer finished", w.id)
	}
	if end := w.off + n; w.limit > 0 && end > w.limit {
		return fmt.Errorf("append stream %s: %d bytes, at most %d: %w", w.id, end, w.limit, ErrTooLarge)
	}
	return nil
}

// fill appends n bytes that put writes into the chunk being filled,
// passing each full chunk on.
func (w *UploadWriter) fill(n int64, put func(dst []byte) (int, error)) error {
	for n > 0 {
		if w.cur == nil {
			w.cur = w.in.buffer()[:0]
		}
		room := w.cur[len(w.cur):min(cap(w.cur), len(w.cur)+int(min(n, math.MaxInt32)))]
		k, err := put(room)
		w.cur = w.cur[:len(w.cur)+k]
		w.off += int64(k)
		n -= int64(k)
		if err != nil {
			return err
		}
		if len(w.cur) == cap(w.cur) {
			if err := w.hand(); err != nil {
				return err
			}
		}
	}
	return nil
}

// hand passes the filled chunk on: to the ingest, which hashes and commits
// it, or to the held chunks.
func (w *UploadWriter) hand() error {
	c := w.cur
	w.cur = nil
	if w.holding {
		w.held = append(w.held, c)
		return nil
	}
	return w.add(c)
}

func (w *UploadWriter) add(c []byte) error {
	if err := w.in.add(c); err != nil {
		w.err = fmt.Errorf("append stream %s: %w", w.id, err)
		return w.err
	}
	return nil
}

// prepare returns the commit of a batch, which stores with it the latest
// hash state up to the batch's last chunk (number seq).
func (w *UploadWriter) prepare(chunks [][]byte, start, seq int64) func() error {
	return func() error {
		state, hashed, err := w.in.hp.stateUpTo(seq)
		if err != nil {
			return err
		}
		return w.db.updateBulk(func(tx *bbolt.Tx) error {
			_, err := w.appendTx(tx, chunks, start, state, w.hashFrom+hashed)
			return err
		})
	}
}

// appendTx appends chunks, which start at session offset start, and
// records the session's new size and the hash state, which covers the
// session up to hashedTo.
func (w *UploadWriter) appendTx(tx *bbolt.Tx, chunks [][]byte, start int64, state []byte, hashedTo int64) (uploadRecord, error) {
	rec, err := getUpload(tx, w.id)
	if err != nil {
		return rec, err
	}
	if rec.Received != start {
		// Another writer appended to the session meanwhile.
		return rec, fmt.Errorf("offset %d, received %d: %w", start, rec.Received, ErrOffsetMismatch)
	}
	for _, c := range chunks {
		if err := w.db.appendChunks(tx, &rec, c); err != nil {
			return rec, err
		}
		rec.Received += int64(len(c))
	}
	rec.HashState, rec.HashedTo = state, hashedTo
	rec.Touched = w.db.now().UnixNano()
	return rec, tx.Bucket(bucketUploads).Put([]byte(w.id), rec.encode())
}

// rest waits for the batch committing in the background and returns the
// chunks not yet committed, the partial one included, with their start.
func (w *UploadWriter) rest() ([][]byte, int64, error) {
	if w.err != nil {
		return nil, 0, w.err
	}
	if w.holding {
		return nil, 0, fmt.Errorf("append stream %s: content read but not accepted", w.id)
	}
	if err := w.in.wait(); err != nil {
		return nil, 0, fmt.Errorf("append stream %s: %w", w.id, err)
	}
	if len(w.cur) > 0 {
		w.in.queueTail(w.cur)
		w.cur = nil
	}
	// The hash then holds every byte written.
	w.in.closeHash()
	chunks, start := w.in.queuedChunks()
	return chunks, start, nil
}

// Commit commits everything written so far and returns the session's
// state; the writer takes no more bytes.
func (w *UploadWriter) Commit() (Upload, error) {
	w.done = true
	chunks, start, err := w.rest()
	if err != nil {
		return Upload{}, err
	}
	state, err := w.h.(encoding.BinaryMarshaler).MarshalBinary()
	if err != nil {
		return Upload{}, fmt.Errorf("append stream %s: %w", w.id, err)
	}
	var rec uploadRecord
	err = w.db.updateBulk(func(tx *bbolt.Tx) (err error) {
		rec, err = w.appendTx(tx, chunks, start, state, w.off)
		return err
	})
	if err != nil {
		return Upload{}, fmt.Errorf("append stream %s: %w", w.id, err)
	}
	return rec.upload(w.id), nil
}

// Finish commits the last bytes and the object in one transaction, as
// FinishUpload does: sha (lowercase hex; empty skips the check) must be
// the digest of the whole session, or the session is dropped and
// ErrDigestMismatch returned.
func (w *UploadWriter) Finish(sha string) (Object, error) {
	w.done = true
	chunks, start, err := w.rest()
	if err != nil {
		return Object{}, err
	}
	var sum [32]byte
	w.h.Sum(sum[:0])
	var (
		obj      Object
		mismatch error
	)
	err = w.db.updateBulk(func(tx *bbolt.Tx) error {
		// The hash state stored with the chunks is moot: the session
		// ends in this transaction either way.
		rec, err := w.appendTx(tx, chunks, start, nil, 0)
		if err != nil {
			return err
		}
		obj, mismatch, err = w.db.finishTx(tx, w.id, rec, sum, sha)
		return err
	})
	return w.db.finishedUpload(w.id, obj, mismatch, err)
}

// Close returns the writer's buffers. Bytes written since the last batch
// commit are dropped; the session keeps what was committed.
func (w *UploadWriter) Close() {
	w.done = true
	_ = w.in.wait() // its error was reported by Write, Commit or Finish, or is moot
	if w.cur != nil {
		w.in.recycle(w.cur)
		w.cur = nil
	}
	for _, c := range w.held {
		w.in.recycle(c)
	}
	w.held = nil
	w.in.release()
	if w.release != nil {
		w.release()
		w.release = nil
	}
}
