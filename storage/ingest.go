package storage

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"

	"go.etcd.io/bbolt"
)

// ingest streams content into a new chunk set, committing several chunks
// per write transaction: one bbolt commit (two fsyncs) per chunk is slow,
// and a bounded batch keeps memory flat whatever the size.
//
// A full batch commits in a goroutine while the caller reads and hashes
// the next one, so the network and the disk work at the same time rather
// than by turns. At most one batch commits while one fills: memory stays
// at two batches (plus bbolt's dirty pages for one), whatever the size.
type ingest struct {
	db *DB
	// set is 0 until the first commit allocates it. While a batch
	// commits, only its goroutine touches set; wait hands it back.
	set     uint64
	off     int64    // bytes read so far
	pending [][]byte // chunks not yet committed, starting at off - bytes
	bytes   int
	free    [][]byte // buffers to reuse, their commit done

	flushing chan error // result of the batch committing now; nil if none
	inflight [][]byte   // that batch's buffers

	// prepare returns the commit of a full batch, to run in the
	// background. It is called on the caller's goroutine, so it may
	// capture state that the next writes will change (an upload session
	// takes its hash state there). Nil means flush into in.set.
	prepare func(chunks [][]byte, start int64) func() error
}

func (db *DB) newIngest() *ingest { return &ingest{db: db} }

// buffer returns a chunk-size buffer. Buffers come from a pool shared by
// all writers: a small Put then costs no fresh chunk-size allocation.
func (in *ingest) buffer() []byte {
	if n := len(in.free); n > 0 {
		b := in.free[n-1]
		in.free = in.free[:n-1]
		return b[:cap(b)]
	}
	if p, ok := in.db.bufs.Get().(*[]byte); ok {
		return *p
	}
	return make([]byte, in.db.chunkSize)
}

// release returns every buffer to the pool; bbolt holds no reference to
// them once the transaction that wrote them has ended. No batch may be
// committing (wait first).
func (in *ingest) release() {
	for _, b := range append(in.free, in.pending...) {
		b = b[:cap(b)]
		in.db.bufs.Put(&b)
	}
	in.free, in.pending = nil, nil
}

// readAll reads r to its end into chunks and returns the size and digest.
// max bounds the size when positive.
func (in *ingest) readAll(ctx context.Context, r io.Reader, max int64) (int64, [32]byte, error) {
	h := sha256.New()
	var size int64
	var sum [32]byte
	if r == nil {
		r = bytes.NewReader(nil)
	}
	for {
		if err := ctx.Err(); err != nil {
			return 0, sum, err
		}
		buf := in.buffer()
		n, err := io.ReadFull(r, buf)
		if n > 0 {
			size += int64(n)
			if max > 0 && size > max {
				in.free = append(in.free, buf)
				return 0, sum, fmt.Errorf("over %d bytes: %w", max, ErrTooLarge)
			}
			h.Write(buf[:n])
			if err := in.add(buf[:n]); err != nil {
				return 0, sum, err
			}
		} else {
			in.free = append(in.free, buf)
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			return 0, sum, fmt.Errorf("read body: %w", err)
		}
	}
	h.Sum(sum[:0])
	return size, sum, nil
}

// add queues a chunk. When the batch is full it waits for the previous
// batch's commit and starts this one's in the background.
func (in *ingest) add(chunk []byte) error {
	in.pending = append(in.pending, chunk)
	in.bytes += len(chunk)
	in.off += int64(len(chunk))
	if in.bytes < in.db.batch {
		return nil
	}
	if err := in.wait(); err != nil {
		return err
	}
	batch, start := in.pending, in.off-int64(in.bytes)
	in.pending, in.bytes = nil, 0
	in.inflight = batch
	commit := func() error { return in.flush(batch, start) }
	if in.prepare != nil {
		commit = in.prepare(batch, start)
	}
	done := make(chan error, 1)
	in.flushing = done
	go func() { done <- commit() }()
	return nil
}

// wait waits for the batch committing in the background, if any, and
// returns its error.
func (in *ingest) wait() error {
	if in.flushing == nil {
		return nil
	}
	err := <-in.flushing
	in.flushing = nil
	in.free = append(in.free, in.inflight...)
	in.inflight = nil
	return err
}

// writeChunks puts chunks starting at offset start, allocating the set
// (and marking it staged, so a crash before finish frees it at the next
// Open) on first use.
func (in *ingest) writeChunks(tx *bbolt.Tx, chunks [][]byte, start int64, stage bool) error {
	bucket := tx.Bucket(bucketChunks)
	if in.set == 0 {
		set, err := bucket.NextSequence()
		if err != nil {
			return err
		}
		in.set = set
		if stage {
			ts := seqKey(uint64(in.db.now().UnixNano()))
			if err := tx.Bucket(bucketStaging).Put(seqKey(set), ts); err != nil {
				return err
			}
		}
	}
	off := start
	for _, c := range chunks {
		if err := putChunk(bucket, chunkKey(in.set, off), c); err != nil {
			return err
		}
		off += int64(len(c))
	}
	return nil
}

// flush commits one batch; it runs in add's goroutine.
func (in *ingest) flush(chunks [][]byte, start int64) error {
	prev := in.set
	err := in.db.update(func(tx *bbolt.Tx) error {
		in.set = prev
		return in.writeChunks(tx, chunks, start, true)
	})
	if err != nil {
		// A set allocated by the rolled-back transaction is not ours.
		in.set = prev
	}
	return err
}

// finish commits the remaining chunks and runs fn in the same transaction,
// unstaging the set. It returns the first error of any batch.
func (in *ingest) finish(fn func(tx *bbolt.Tx, set uint64) error) error {
	if err := in.wait(); err != nil {
		in.abort()
		return err
	}
	set := in.set
	start := in.off - int64(in.bytes)
	err := in.db.update(func(tx *bbolt.Tx) error {
		in.set = set // a retry after rollback must not keep a set from it
		if err := in.writeChunks(tx, in.pending, start, false); err != nil {
			return err
		}
		if err := tx.Bucket(bucketStaging).Delete(seqKey(in.set)); err != nil {
			return err
		}
		return fn(tx, in.set)
	})
	if err != nil {
		in.set = set
		in.abort()
		return err
	}
	in.release()
	return nil
}

// abort waits for a batch still committing, then frees what earlier
// batches committed.
func (in *ingest) abort() {
	_ = in.wait() // its error is the reason for aborting or moot
	in.release()
	if in.set == 0 {
		return
	}
	set := in.set
	err := in.db.update(func(tx *bbolt.Tx) error {
		if err := deleteSet(tx, set); err != nil {
			return err
		}
		return tx.Bucket(bucketStaging).Delete(seqKey(set))
	})
	if err != nil && !errors.Is(err, ErrClosed) {
		in.db.logger.Warn("abort put", "set", set, "err", err)
	}
}
