package storage

import (
	"bytes"
	"context"
	"fmt"
	"maps"

	"go.etcd.io/bbolt"
)

// DefaultListLimit caps List and ReadLog when the caller gives no limit.
const DefaultListLimit = 1000

// Put streams req.Body into chunks and commits the object, its blob and a
// log entry. Chunks are committed in batches of DefaultBatchBytes as they
// arrive; the object and its log entry commit in the final transaction,
// after which Put returns. On any error (ErrBadKey, ErrTooLarge,
// ErrDigestMismatch, a read error, ctx done) nothing stays stored.
func (db *DB) Put(ctx context.Context, req PutRequest) (Object, error) {
	if err := ValidateKey(req.Key); err != nil {
		return Object{}, fmt.Errorf("put: %w", err)
	}
	if err := ValidateMeta(req.Meta); err != nil {
		return Object{}, fmt.Errorf("put %q: %w", req.Key, err)
	}
	var want [32]byte
	if req.SHA256 != "" {
		var err error
		if want, err = parseSHA(req.SHA256); err != nil {
			return Object{}, fmt.Errorf("put: %w", err)
		}
	}
	in := db.newIngest()
	size, sum, err := in.readAll(ctx, req.Body, db.maxSize)
	if err != nil {
		in.abort()
		return Object{}, fmt.Errorf("put %q: %w", req.Key, err)
	}
	if req.SHA256 != "" && sum != want {
		in.abort()
		return Object{}, fmt.Errorf("put %q: content hashes to %x: %w", req.Key, sum, ErrDigestMismatch)
	}
	var obj Object
	err = in.finish(func(tx *bbolt.Tx, set uint64) error {
		if _, err := db.linkBlob(tx, sum, size, set, 1); err != nil {
			return err
		}
		obj, err = db.writeObject(tx, Object{
			Key: req.Key, Size: size, SHA256: hexSum(sum),
			ContentType: req.ContentType, Meta: maps.Clone(req.Meta),
		})
		return err
	})
	if err != nil {
		return Object{}, fmt.Errorf("put %q: %w", req.Key, err)
	}
	db.appended()
	return obj, nil
}

// writeObject stores a local write or delete of o.Key: it stamps version,
// origin and time, drops the reference the previous state held (the caller
// already added the new one) and appends the log entry.
func (db *DB) writeObject(tx *bbolt.Tx, o Object) (Object, error) {
	objects := tx.Bucket(bucketObjects)
	key := []byte(o.Key)
	var prev Object
	if v := objects.Get(key); v != nil {
		var err error
		if prev, err = decodeObject(key, v); err != nil {
			return Object{}, err
		}
	}
	o.Version = db.clock.next(prev.Version)
	o.Origin = db.nodeID
	o.Modified = db.now().UTC()
	if err := putObject(objects, o); err != nil {
		return Object{}, err
	}
	if prev.SHA256 != "" && !prev.Deleted {
		if err := unrefBlob(tx, prev.SHA256); err != nil {
			return Object{}, err
		}
	}
	if _, err := appendLog(tx, entryOf(o, 0)); err != nil {
		return Object{}, err
	}
	return o, nil
}

func putObject(objects *bbolt.Bucket, o Object) error {
	v, err := encodeObject(o)
	if err != nil {
		return err
	}
	return objects.Put([]byte(o.Key), v)
}

// appendLog stores e as the next entry of its origin and returns its seq.
func appendLog(tx *bbolt.Tx, e LogEntry) (uint64, error) {
	ob, err := tx.Bucket(bucketLog).CreateBucketIfNotExists([]byte(e.Origin))
	if err != nil {
		return 0, err
	}
	seq := uint64(1)
	if k, _ := ob.Cursor().Last(); k != nil {
		seq = beUint64(k) + 1
	}
	v, err := encodeLogEntry(e)
	if err != nil {
		return 0, err
	}
	return seq, ob.Put(seqKey(seq), v)
}

// Get returns a live object's metadata (ErrNotFound for a tombstone).
func (db *DB) Get(key string) (Object, error) {
	var o Object
	err := db.view(func(tx *bbolt.Tx) (err error) {
		o, err = getLive(tx, key)
		return err
	})
	if err != nil {
		return Object{}, fmt.Errorf("get %q: %w", key, err)
	}
	return o, nil
}

func getLive(tx *bbolt.Tx, key string) (Object, error) {
	v := tx.Bucket(bucketObjects).Get([]byte(key))
	if v == nil {
		return Object{}, ErrNotFound
	}
	o, err := decodeObject([]byte(key), v)
	if err != nil {
		return Object{}, err
	}
	if o.Deleted {
		return Object{}, ErrNotFound
	}
	return o, nil
}

// List returns up to limit live objects whose keys start with prefix and
// sort after after, in key order. limit <= 0 means DefaultListLimit.
func (db *DB) List(prefix, after string, limit int) ([]Object, error) {
	if limit <= 0 {
		limit = DefaultListLimit
	}
	var out []Object
	err := db.view(func(tx *bbolt.Tx) error {
		c := tx.Bucket(bucketObjects).Cursor()
		p := []byte(prefix)
		start := p
		if after >= prefix {
			// The smallest key after "after" is after + "\x00".
			start = append([]byte(after), 0)
		}
		for k, v := c.Seek(start); k != nil && bytes.HasPrefix(k, p) && len(out) < limit; k, v = c.Next() {
			o, err := decodeObject(k, v)
			if err != nil {
				return err
			}
			if !o.Deleted {
				out = append(out, o)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list %q: %w", prefix, err)
	}
	return out, nil
}

// Delete replaces a live object by a tombstone and logs it; the object's
// blob is freed if nothing else references it. It returns the tombstone.
func (db *DB) Delete(key string) (Object, error) {
	if err := ValidateKey(key); err != nil {
		return Object{}, fmt.Errorf("delete: %w", err)
	}
	var tomb Object
	err := db.update(func(tx *bbolt.Tx) error {
		if _, err := getLive(tx, key); err != nil {
			return err
		}
		var err error
		tomb, err = db.writeObject(tx, Object{Key: key, Deleted: true})
		return err
	})
	if err != nil {
		return Object{}, fmt.Errorf("delete %q: %w", key, err)
	}
	db.appended()
	return tomb, nil
}
