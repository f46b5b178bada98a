package storage

import (
	"fmt"

	"go.etcd.io/bbolt"
)

// Heads returns the highest seq stored per origin. Entries are stored
// without gaps, so every seq up to the head is there.
func (db *DB) Heads() (map[string]uint64, error) {
	heads := make(map[string]uint64)
	err := db.view(func(tx *bbolt.Tx) error {
		lb := tx.Bucket(bucketLog)
		return lb.ForEachBucket(func(origin []byte) error {
			if k, _ := lb.Bucket(origin).Cursor().Last(); k != nil {
				heads[string(origin)] = beUint64(k)
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("heads: %w", err)
	}
	return heads, nil
}

// ReadLog returns up to limit entries of origin with seq after after, in
// seq order; limit <= 0 means DefaultListLimit. An unknown origin has no
// entries.
func (db *DB) ReadLog(origin string, after uint64, limit int) ([]LogEntry, error) {
	if limit <= 0 {
		limit = DefaultListLimit
	}
	var out []LogEntry
	err := db.view(func(tx *bbolt.Tx) error {
		ob := tx.Bucket(bucketLog).Bucket([]byte(origin))
		if ob == nil {
			return nil
		}
		c := ob.Cursor()
		for k, v := c.Seek(seqKey(after + 1)); k != nil && len(out) < limit; k, v = c.Next() {
			e, err := decodeLogEntry(origin, k, v)
			if err != nil {
				return err
			}
			out = append(out, e)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read log %q: %w", origin, err)
	}
	return out, nil
}

// Apply records an entry from another server's log and applies it to its
// key last-writer-wins by (Version, Origin). It is idempotent:
//
//   - e.Seq <= head(e.Origin): already stored; returns (false, nil).
//   - e.Seq > head+1: ErrLogGap; the entries between come first.
//   - otherwise the entry is stored under its origin (so this server can
//     pass it on) and, if it is newer than the key's state (tombstones
//     included), becomes that state: changed is true. A write that wins
//     needs its blob stored (PutBlob first): without it Apply returns
//     ErrMissingBlob and nothing changes. An entry that loses is stored
//     all the same, needs no blob, and frees its blob if one was stored
//     and nothing references it.
//
// Apply moves the local clock past e.Version so later local writes order
// after it.
func (db *DB) Apply(e LogEntry) (changed bool, err error) {
	return db.apply(e, false)
}

// Skip records e in the log without applying it, like an entry that lost.
// It is for a write whose blob no longer exists where it was fetched from:
// a server frees a blob only once a newer entry for its key has superseded
// it, and that entry reaches this server too, so nothing is lost by
// skipping. Without Skip such an entry would block its origin's log here
// forever. Seq rules (no-op, ErrLogGap) are those of Apply.
func (db *DB) Skip(e LogEntry) error {
	_, err := db.apply(e, true)
	return err
}

func (db *DB) apply(e LogEntry, skip bool) (changed bool, err error) {
	if e.Origin == "" || e.Seq == 0 || e.Key == "" {
		return false, fmt.Errorf("apply: entry lacks origin, seq or key")
	}
	var appended bool
	err = db.update(func(tx *bbolt.Tx) error {
		changed, appended = false, false
		ob, err := tx.Bucket(bucketLog).CreateBucketIfNotExists([]byte(e.Origin))
		if err != nil {
			return err
		}
		var head uint64
		if k, _ := ob.Cursor().Last(); k != nil {
			head = beUint64(k)
		}
		switch {
		case e.Seq <= head:
			return nil
		case e.Seq > head+1:
			return fmt.Errorf("seq %d after head %d: %w", e.Seq, head, ErrLogGap)
		}
		v, err := encodeLogEntry(e)
		if err != nil {
			return err
		}
		if err := ob.Put(seqKey(e.Seq), v); err != nil {
			return err
		}
		appended = true

		var (
			sum     [32]byte
			rec     blobRecord
			hasBlob bool
		)
		if !e.Deleted {
			if sum, err = parseSHA(e.SHA256); err != nil {
				return err
			}
			if v := tx.Bucket(bucketBlobs).Get(sum[:]); v != nil {
				if rec, err = decodeBlobRecord(v); err != nil {
					return err
				}
				hasBlob = true
			}
		}
		objects := tx.Bucket(bucketObjects)
		key := []byte(e.Key)
		var cur Object
		exists := false
		if v := objects.Get(key); v != nil {
			if cur, err = decodeObject(key, v); err != nil {
				return err
			}
			exists = true
		}
		if skip || (exists && !newer(e.Version, e.Origin, cur.Version, cur.Origin)) {
			if hasBlob && rec.Refs == 0 {
				return freeBlob(tx, sum, rec)
			}
			return nil
		}
		if !e.Deleted && !hasBlob {
			// Rolls back the log entry too: nothing changes.
			return fmt.Errorf("blob %s: %w", e.SHA256, ErrMissingBlob)
		}
		o := objectOf(e)
		if o.Deleted {
			o.Size, o.SHA256, o.ContentType, o.Meta = 0, "", "", nil
		} else if err := refBlob(tx, sum); err != nil {
			return err
		}
		if err := putObject(objects, o); err != nil {
			return err
		}
		if exists && !cur.Deleted && cur.SHA256 != "" {
			if err := unrefBlob(tx, cur.SHA256); err != nil {
				return err
			}
		}
		changed = true
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("apply %s/%d: %w", e.Origin, e.Seq, err)
	}
	db.clock.observe(e.Version)
	if appended {
		db.appended()
	}
	return changed, nil
}

// newer orders writes to one key: higher version wins, the origin id
// breaks ties so every server picks the same winner.
func newer(v uint64, origin string, curV uint64, curOrigin string) bool {
	if v != curV {
		return v > curV
	}
	return origin > curOrigin
}
