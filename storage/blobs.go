package storage

import (
	"context"
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

func hexSum(sum [32]byte) string { return hex.EncodeToString(sum[:]) }
