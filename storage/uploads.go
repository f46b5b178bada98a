package storage

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding"
	"encoding/hex"
	"fmt"
	"hash"
	"maps"
	"time"

	"go.etcd.io/bbolt"
)

// mergeBelow: an append joins the previous chunk when that chunk is this
// small, so a client sending tiny messages does not leave a blob of tiny
// chunks; rewriting at most this much per append is cheap.
const mergeBelow = 64 << 10

// BeginUpload opens a resumable upload session for key. totalSize is the
// whole size when known (zero when not); it is checked against
// Options.MaxObjectSize. The session survives restarts.
func (db *DB) BeginUpload(key, contentType string, meta map[string]string, totalSize int64) (Upload, error) {
	if err := ValidateKey(key); err != nil {
		return Upload{}, fmt.Errorf("begin upload: %w", err)
	}
	if totalSize < 0 {
		return Upload{}, fmt.Errorf("begin upload: total size %d: %w", totalSize, ErrInvalid)
	}
	if err := ValidateMeta(meta); err != nil {
		return Upload{}, fmt.Errorf("begin upload: %w", err)
	}
	if db.maxSize > 0 && totalSize > db.maxSize {
		return Upload{}, fmt.Errorf("begin upload: %d bytes: %w", totalSize, ErrTooLarge)
	}
	state, err := sha256.New().(encoding.BinaryMarshaler).MarshalBinary()
	if err != nil {
		return Upload{}, fmt.Errorf("begin upload: %w", err)
	}
	var idb [16]byte
	rand.Read(idb[:])
	id := hex.EncodeToString(idb[:])
	now := db.now().UnixNano()
	rec := uploadRecord{
		Key: key, ContentType: contentType, Meta: maps.Clone(meta),
		TotalSize: totalSize, Started: now, Touched: now, HashState: state,
	}
	err = db.update(func(tx *bbolt.Tx) error {
		set, err := tx.Bucket(bucketChunks).NextSequence()
		if err != nil {
			return err
		}
		rec.Set = set
		return tx.Bucket(bucketUploads).Put([]byte(id), rec.encode())
	})
	if err != nil {
		return Upload{}, fmt.Errorf("begin upload: %w", err)
	}
	return rec.upload(id), nil
}

func (r uploadRecord) upload(id string) Upload {
	return Upload{
		ID: id, Key: r.Key, ContentType: r.ContentType, Meta: r.Meta,
		Received: r.Received, TotalSize: r.TotalSize, Started: fromUnixNano(r.Started),
	}
}

func getUpload(tx *bbolt.Tx, id string) (uploadRecord, error) {
	v := tx.Bucket(bucketUploads).Get([]byte(id))
	if v == nil {
		return uploadRecord{}, ErrNotFound
	}
	return decodeUploadRecord(v)
}

// AppendUpload appends data at offset, which must equal the bytes the
// session has received (else ErrOffsetMismatch and nothing changes). The
// chunks and the running SHA-256 state commit together before it returns.
func (db *DB) AppendUpload(id string, offset int64, data []byte) (Upload, error) {
	var rec uploadRecord
	err := db.update(func(tx *bbolt.Tx) (err error) {
		if rec, err = getUpload(tx, id); err != nil {
			return err
		}
		if offset != rec.Received {
			return fmt.Errorf("offset %d, received %d: %w", offset, rec.Received, ErrOffsetMismatch)
		}
		end := rec.Received + int64(len(data))
		if db.maxSize > 0 && end > db.maxSize {
			return fmt.Errorf("%d bytes: %w", end, ErrTooLarge)
		}
		if rec.TotalSize > 0 && end > rec.TotalSize {
			return fmt.Errorf("%d bytes, declared %d: %w", end, rec.TotalSize, ErrTooLarge)
		}
		h, err := sessionHash(tx, rec)
		if err != nil {
			return err
		}
		h.Write(data)
		if rec.HashState, err = h.(encoding.BinaryMarshaler).MarshalBinary(); err != nil {
			return err
		}
		rec.HashedTo = end
		if err := db.appendChunks(tx, &rec, data); err != nil {
			return err
		}
		rec.Received = end
		rec.Touched = db.now().UnixNano()
		return tx.Bucket(bucketUploads).Put([]byte(id), rec.encode())
	})
	if err != nil {
		return Upload{}, fmt.Errorf("append upload %s: %w", id, err)
	}
	return rec.upload(id), nil
}

// appendChunks writes data after the session's last chunk, growing that
// chunk when it is small and splitting data at the chunk size.
func (db *DB) appendChunks(tx *bbolt.Tx, rec *uploadRecord, data []byte) error {
	chunks := tx.Bucket(bucketChunks)
	off := rec.Received
	if rec.TailLen > 0 && rec.TailLen < mergeBelow && len(data) > 0 {
		take := min(len(data), db.chunkSize-int(rec.TailLen))
		if take > 0 {
			tail := getChunk(chunks, chunkKey(rec.Set, rec.TailOff))
			if int64(len(tail)) != rec.TailLen {
				return fmt.Errorf("upload tail chunk: %w", errShortRecord)
			}
			merged := make([]byte, 0, len(tail)+take)
			merged = append(append(merged, tail...), data[:take]...)
			if err := replaceChunk(chunks, chunkKey(rec.Set, rec.TailOff), merged); err != nil {
				return err
			}
			rec.TailLen += int64(take)
			off += int64(take)
			data = data[take:]
		}
	}
	for len(data) > 0 {
		n := min(len(data), db.chunkSize)
		if err := putChunk(chunks, chunkKey(rec.Set, off), data[:n]); err != nil {
			return err
		}
		rec.TailOff, rec.TailLen = off, int64(n)
		off += int64(n)
		data = data[n:]
	}
	return nil
}

func restoreHash(state []byte) (hash.Hash, error) {
	h := sha256.New()
	if err := h.(encoding.BinaryUnmarshaler).UnmarshalBinary(state); err != nil {
		return nil, fmt.Errorf("restore sha-256 state: %w", err)
	}
	return h, nil
}

// sessionHash returns the hash of every byte the session has received:
// its stored state, then the stored bytes that state has not reached.
func sessionHash(tx *bbolt.Tx, rec uploadRecord) (hash.Hash, error) {
	h, err := restoreHash(rec.HashState)
	if err != nil {
		return nil, err
	}
	left := rec.Received - rec.HashedTo
	switch {
	case left < 0 || rec.HashedTo < 0:
		return nil, fmt.Errorf("hash state at %d of %d bytes received", rec.HashedTo, rec.Received)
	case left == 0:
		return h, nil
	}
	err = walkChunks(tx, rec.Set, rec.HashedTo, func(b []byte) bool {
		n := min(int64(len(b)), left)
		h.Write(b[:n])
		left -= n
		return left > 0
	})
	if err != nil {
		return nil, fmt.Errorf("hash the session from %d: %w", rec.HashedTo, err)
	}
	return h, nil
}

// FinishUpload checks the session's content against sha (the lowercase hex
// SHA-256 of the whole file; empty skips the check) and commits the object
// and its log entry in one transaction. On a mismatch it returns
// ErrDigestMismatch and drops the session and its chunks: no object is
// written. A session that declared a total size must have received it all.
func (db *DB) FinishUpload(id, sha string) (Object, error) {
	var (
		obj      Object
		mismatch error
	)
	err := db.update(func(tx *bbolt.Tx) error {
		rec, err := getUpload(tx, id)
		if err != nil {
			return err
		}
		h, err := sessionHash(tx, rec)
		if err != nil {
			return err
		}
		var sum [32]byte
		h.Sum(sum[:0])
		obj, mismatch, err = db.finishTx(tx, id, rec, sum, sha)
		return err
	})
	return db.finishedUpload(id, obj, mismatch, err)
}

// finishTx turns session id, whose content hashes to sum, into the
// object, or drops it when sha (if not empty) names another digest: then
// it returns the mismatch as its second result, with nil as the third so
// that the drop commits.
func (db *DB) finishTx(tx *bbolt.Tx, id string, rec uploadRecord, sum [32]byte, sha string) (Object, error, error) {
	if rec.TotalSize > 0 && rec.Received != rec.TotalSize {
		return Object{}, nil, fmt.Errorf("received %d of %d bytes: %w", rec.Received, rec.TotalSize, ErrOffsetMismatch)
	}
	if sha != "" {
		want, err := parseSHA(sha)
		if err == nil && want != sum {
			err = fmt.Errorf("content hashes to %x: %w", sum, ErrDigestMismatch)
		}
		if err != nil {
			return Object{}, err, dropUpload(tx, id, rec)
		}
	}
	if err := tx.Bucket(bucketUploads).Delete([]byte(id)); err != nil {
		return Object{}, nil, err
	}
	if _, err := db.linkBlob(tx, sum, rec.Received, rec.Set, 1); err != nil {
		return Object{}, nil, err
	}
	obj, err := db.writeObject(tx, Object{
		Key: rec.Key, Size: rec.Received, SHA256: hexSum(sum),
		ContentType: rec.ContentType, Meta: rec.Meta,
	})
	return obj, nil, err
}

// finishedUpload reports how a finish transaction ended.
func (db *DB) finishedUpload(id string, obj Object, mismatch, err error) (Object, error) {
	if err == nil {
		err = mismatch
	}
	if err != nil {
		return Object{}, fmt.Errorf("finish upload %s: %w", id, err)
	}
	db.appended()
	return obj, nil
}

func dropUpload(tx *bbolt.Tx, id string, rec uploadRecord) error {
	if err := deleteSet(tx, rec.Set); err != nil {
		return err
	}
	return tx.Bucket(bucketUploads).Delete([]byte(id))
}

// GetUpload returns a session's state.
func (db *DB) GetUpload(id string) (Upload, error) {
	var rec uploadRecord
	err := db.view(func(tx *bbolt.Tx) (err error) {
		rec, err = getUpload(tx, id)
		return err
	})
	if err != nil {
		return Upload{}, fmt.Errorf("get upload %s: %w", id, err)
	}
	return rec.upload(id), nil
}

// SettledUpload returns a session's state once no stream writes to it:
// what a client resuming after a broken stream must start from. It
// returns ErrSessionBusy if ctx ends first.
func (db *DB) SettledUpload(ctx context.Context, id string) (Upload, error) {
	if err := db.writers.settle(ctx, id); err != nil {
		return Upload{}, err
	}
	return db.GetUpload(id)
}

// AbortUpload drops a session and its chunks.
func (db *DB) AbortUpload(id string) error {
	err := db.update(func(tx *bbolt.Tx) error {
		rec, err := getUpload(tx, id)
		if err != nil {
			return err
		}
		return dropUpload(tx, id, rec)
	})
	if err != nil {
		return fmt.Errorf("abort upload %s: %w", id, err)
	}
	return nil
}

// ExpireUploads aborts sessions that received nothing for longer than age
// and returns how many.
func (db *DB) ExpireUploads(age time.Duration) (int, error) {
	cutoff := db.now().Add(-age).UnixNano()
	var n int
	err := db.update(func(tx *bbolt.Tx) error {
		n = 0
		type idle struct {
			id  string
			rec uploadRecord
		}
		var expired []idle
		err := tx.Bucket(bucketUploads).ForEach(func(k, v []byte) error {
			rec, err := decodeUploadRecord(v)
			if err != nil {
				return err
			}
			if rec.Touched < cutoff {
				expired = append(expired, idle{string(k), rec})
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, s := range expired {
			if err := dropUpload(tx, s.id, s.rec); err != nil {
				return err
			}
		}
		n = len(expired)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("expire uploads: %w", err)
	}
	return n, nil
}
