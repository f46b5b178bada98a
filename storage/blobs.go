package storage

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"time"

	"go.etcd.io/bbolt"
)

// HasBlob reports whether a blob is stored.
func (db *DB) HasBlob(sha string) (bool, error) {
	sum, err := parseSHA(sha)
	if err != nil {
		return false, nil
	}
	var ok bool
	err = db.view(func(tx *bbolt.Tx) error {
		ok = tx.Bucket(bucketBlobs).Get(sum[:]) != nil
		return nil
	})
	return ok, err
}

// PutBlob stores the blob that r holds, which must hash to sha, without
// any object referencing it: a replicated log entry will (Apply). A blob
// already stored is not read again. A blob no entry comes to claim is
// freed by the janitor after DefaultOrphanBlobAge.
func (db *DB) PutBlob(ctx context.Context, r io.Reader, sha string) error {
	sum, err := parseSHA(sha)
	if err != nil {
		return fmt.Errorf("put blob: %w", err)
	}
	if ok, err := db.HasBlob(sha); err != nil || ok {
		return err
	}
	in := db.newIngest()
	size, got, err := in.readAll(ctx, r, db.maxSize)
	if err != nil {
		in.abort()
		return fmt.Errorf("put blob: %w", err)
	}
	if got != sum {
		in.abort()
		return fmt.Errorf("put blob: got %x: %w", got, ErrDigestMismatch)
	}
	err = in.finish(func(tx *bbolt.Tx, set uint64) error {
		_, err := db.linkBlob(tx, sum, size, set, 0)
		return err
	})
	if err != nil {
		return fmt.Errorf("put blob: %w", err)
	}
	return nil
}

// linkBlob records that the chunks of set hold the blob sum, adding refs
// references. If the blob is already stored the set is a duplicate and its
// chunks are freed: equal content is kept once.
func (db *DB) linkBlob(tx *bbolt.Tx, sum [32]byte, size int64, set uint64, refs uint64) (blobRecord, error) {
	blobs := tx.Bucket(bucketBlobs)
	if v := blobs.Get(sum[:]); v != nil {
		rec, err := decodeBlobRecord(v)
		if err != nil {
			return rec, err
		}
		if rec.Set != set {
			if err := deleteSet(tx, set); err != nil {
				return rec, err
			}
		}
		if refs == 0 {
			return rec, nil
		}
		rec.Refs += refs
		return rec, blobs.Put(sum[:], rec.encode())
	}
	rec := blobRecord{Size: size, Set: set, Refs: refs, Created: db.now().UnixNano()}
	return rec, blobs.Put(sum[:], rec.encode())
}

// refBlob adds a reference to a stored blob.
func refBlob(tx *bbolt.Tx, sum [32]byte) error {
	blobs := tx.Bucket(bucketBlobs)
	v := blobs.Get(sum[:])
	if v == nil {
		return fmt.Errorf("blob %x: %w", sum, ErrMissingBlob)
	}
	rec, err := decodeBlobRecord(v)
	if err != nil {
		return err
	}
	rec.Refs++
	return blobs.Put(sum[:], rec.encode())
}

// unrefBlob drops a reference and frees the blob when none is left.
func unrefBlob(tx *bbolt.Tx, sha string) error {
	sum, err := parseSHA(sha)
	if err != nil {
		return err
	}
	blobs := tx.Bucket(bucketBlobs)
	v := blobs.Get(sum[:])
	if v == nil {
		return nil
	}
	rec, err := decodeBlobRecord(v)
	if err != nil {
		return err
	}
	if rec.Refs > 1 {
		rec.Refs--
		return blobs.Put(sum[:], rec.encode())
	}
	return freeBlob(tx, sum, rec)
}

// freeBlob deletes a blob, its chunks and its variants.
func freeBlob(tx *bbolt.Tx, sum [32]byte, rec blobRecord) error {
	if err := deleteSet(tx, rec.Set); err != nil {
		return err
	}
	if err := tx.Bucket(bucketBlobs).Delete(sum[:]); err != nil {
		return err
	}
	return deleteVariants(tx, sum)
}

// SweepBlobs frees blobs that no object references and that were stored
// longer than age ago (blobs PutBlob stored for entries that never came).
// It returns how many it freed.
func (db *DB) SweepBlobs(age time.Duration) (int, error) {
	cutoff := db.now().Add(-age).UnixNano()
	var n int
	err := db.update(func(tx *bbolt.Tx) error {
		n = 0
		type victim struct {
			sum [32]byte
			rec blobRecord
		}
		var victims []victim
		err := tx.Bucket(bucketBlobs).ForEach(func(k, v []byte) error {
			rec, err := decodeBlobRecord(v)
			if err != nil {
				return err
			}
			if rec.Refs == 0 && rec.Created < cutoff {
				var sum [32]byte
				copy(sum[:], k)
				victims = append(victims, victim{sum, rec})
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, vi := range victims {
			if err := freeBlob(tx, vi.sum, vi.rec); err != nil {
				return err
			}
		}
		n = len(victims)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("sweep blobs: %w", err)
	}
	return n, nil
}

// janitor expires idle upload sessions and orphaned blobs until Close.
func (db *DB) janitor(interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-db.stop:
			return
		case <-t.C:
		}
		if n, err := db.ExpireUploads(DefaultUploadTTL); err != nil {
			if !errors.Is(err, ErrClosed) {
				db.logger.Warn("expire uploads", "err", err)
			}
		} else if n > 0 {
			db.logger.Info("expired uploads", "sessions", n)
		}
		if n, err := db.SweepBlobs(DefaultOrphanBlobAge); err != nil {
			if !errors.Is(err, ErrClosed) {
				db.logger.Warn("sweep blobs", "err", err)
			}
		} else if n > 0 {
			db.logger.Info("freed orphan blobs", "blobs", n)
		}
	}
}

// ingest streams content into a new chunk set, committing several chunks
// per write transaction: one bbolt commit (two fsyncs) per chunk is slow,
// and a bounded batch keeps memory flat whatever the size.
type ingest struct {
	db      *DB
	set     uint64 // 0 until the first commit allocates it
	off     int64
	pending [][]byte // chunks not yet committed, starting at off - pendingBytes
	bytes   int
	free    [][]byte // buffers to reuse once their commit is done
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
// them once the transaction that wrote them has ended.
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

// add queues a chunk, committing the batch when it is full.
func (in *ingest) add(chunk []byte) error {
	in.pending = append(in.pending, chunk)
	in.bytes += len(chunk)
	in.off += int64(len(chunk))
	if in.bytes >= in.db.batch {
		return in.flush()
	}
	return nil
}

// writePending puts the queued chunks, allocating the set (and marking it
// staged, so a crash before finish frees it at the next Open) on first use.
func (in *ingest) writePending(tx *bbolt.Tx, stage bool) error {
	chunks := tx.Bucket(bucketChunks)
	if in.set == 0 {
		set, err := chunks.NextSequence()
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
	off := in.off - int64(in.bytes)
	for _, c := range in.pending {
		if err := putChunk(chunks, chunkKey(in.set, off), c); err != nil {
			return err
		}
		off += int64(len(c))
	}
	return nil
}

// done recycles the committed buffers.
func (in *ingest) done() {
	in.free = append(in.free, in.pending...)
	in.pending = in.pending[:0]
	in.bytes = 0
}

func (in *ingest) flush() error {
	prev := in.set
	err := in.db.update(func(tx *bbolt.Tx) error {
		in.set = prev
		return in.writePending(tx, true)
	})
	if err != nil {
		// A set allocated by the rolled-back transaction is not ours.
		in.set = prev
		return err
	}
	in.done()
	return nil
}

// finish commits the remaining chunks and runs fn in the same transaction,
// unstaging the set.
func (in *ingest) finish(fn func(tx *bbolt.Tx, set uint64) error) error {
	set := in.set
	err := in.db.update(func(tx *bbolt.Tx) error {
		in.set = set // a retry after rollback must not keep a set from it
		if err := in.writePending(tx, false); err != nil {
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
	in.done()
	in.release()
	return nil
}

// abort frees what earlier batches committed.
func (in *ingest) abort() {
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

func hexSum(sum [32]byte) string { return hex.EncodeToString(sum[:]) }
