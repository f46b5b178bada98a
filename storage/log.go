package storage

import (
	"errors"
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

// errNoop makes a write transaction that would change nothing roll back
// instead of committing (and fsyncing) nothing.
var errNoop = errors.New("no-op")

func (db *DB) apply(e LogEntry, skip bool) (changed bool, err error) {
	var appended bool
	err = db.update(func(tx *bbolt.Tx) error {
		var err error
		changed, appended, err = db.applyTx(tx, e, skip)
		if err == nil && !appended {
			return errNoop
		}
		return err
	})
	if errors.Is(err, errNoop) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	db.clock.observe(e.Version)
	db.appended()
	return changed, nil
}

// ApplyBatch applies entries in order in one write transaction (one
// fsync instead of one per entry, for a peer catching up). It stops at the
// first entry that fails (ErrLogGap, ErrMissingBlob, ...): the entries
// before it commit and done counts them, so entries[done] is the one that
// failed; err is nil when all were applied (done == len(entries)).
// Entries already stored count as done, as for Apply.
func (db *DB) ApplyBatch(entries []LogEntry) (done int, err error) {
	var (
		appended bool
		failed   error
		maxV     uint64
	)
	err = db.update(func(tx *bbolt.Tx) error {
		done, appended, failed, maxV = 0, false, nil, 0
		for _, e := range entries {
			_, app, err := db.applyTx(tx, e, false)
			if err != nil {
				// applyTx checks before it changes anything: the entries
				// before this one can still commit.
				failed = err
				break
			}
			appended = appended || app
			maxV = max(maxV, e.Version)
			done++
		}
		if !appended {
			return errNoop
		}
		return nil
	})
	if err != nil && !errors.Is(err, errNoop) {
		return 0, err
	}
	db.clock.observe(maxV)
	if appended {
		db.appended()
	}
	return done, failed
}

// applyTx applies one entry inside tx. Every check that can refuse the
// entry comes before the first change, so a refused entry leaves tx as it
// found it.
func (db *DB) applyTx(tx *bbolt.Tx, e LogEntry, skip bool) (changed, appended bool, err error) {
	fail := func(err error) (bool, bool, error) {
		return false, false, fmt.Errorf("apply %s/%d: %w", e.Origin, e.Seq, err)
	}
	if e.Origin == "" || e.Seq == 0 || e.Key == "" {
		return fail(errors.New("entry lacks origin, seq or key"))
	}
	if err := db.clock.checkLead(e.Version); err != nil {
		return fail(err)
	}
	lb := tx.Bucket(bucketLog)
	var head uint64
	if ob := lb.Bucket([]byte(e.Origin)); ob != nil {
		if k, _ := ob.Cursor().Last(); k != nil {
			head = beUint64(k)
		}
	}
	switch {
	case e.Seq <= head:
		return false, false, nil
	case e.Seq > head+1:
		return fail(fmt.Errorf("seq %d after head %d: %w", e.Seq, head, ErrLogGap))
	}
	var (
		sum     [32]byte
		rec     blobRecord
		hasBlob bool
	)
	if !e.Deleted {
		if sum, err = parseSHA(e.SHA256); err != nil {
			return fail(err)
		}
		if v := tx.Bucket(bucketBlobs).Get(sum[:]); v != nil {
			if rec, err = decodeBlobRecord(v); err != nil {
				return fail(err)
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
			return fail(err)
		}
		exists = true
	}
	wins := !skip && (!exists || newer(e.Version, e.Origin, cur.Version, cur.Origin))
	if wins && !e.Deleted && !hasBlob {
		return fail(fmt.Errorf("blob %s: %w", e.SHA256, ErrMissingBlob))
	}

	// From here on only bbolt itself can fail, which aborts the whole
	// transaction anyway.
	ob, err := lb.CreateBucketIfNotExists([]byte(e.Origin))
	if err != nil {
		return fail(err)
	}
	v, err := encodeLogEntry(e)
	if err != nil {
		return fail(err)
	}
	if err := ob.Put(seqKey(e.Seq), v); err != nil {
		return fail(err)
	}
	if !wins {
		if hasBlob && rec.Refs == 0 {
			if err := freeBlob(tx, sum, rec); err != nil {
				return fail(err)
			}
		}
		return false, true, nil
	}
	o := objectOf(e)
	if o.Deleted {
		o.Size, o.SHA256, o.ContentType, o.Meta = 0, "", "", nil
	} else if err := refBlob(tx, sum); err != nil {
		return fail(err)
	}
	if err := putObject(objects, o); err != nil {
		return fail(err)
	}
	if exists && !cur.Deleted && cur.SHA256 != "" {
		if err := unrefBlob(tx, cur.SHA256); err != nil {
			return fail(err)
		}
	}
	return true, true, nil
}

// newer orders writes to one key: higher version wins, the origin id
// breaks ties so every server picks the same winner.
func newer(v uint64, origin string, curV uint64, curOrigin string) bool {
	if v != curV {
		return v > curV
	}
	return origin > curOrigin
}
