package migrations

import (
	"encoding/binary"
	"errors"
	"fmt"

	"go.etcd.io/bbolt"
)

// Current is the schema version this build writes.
const Current = 2

// Bucket and key names of the layout. They never change meaning: a new
// version adds names rather than reusing one.
var (
	BucketMeta     = []byte("meta")
	BucketObjects  = []byte("objects")
	BucketBlobs    = []byte("blobs")
	BucketChunks   = []byte("chunks")
	BucketVariants = []byte("variants")
	BucketPeers    = []byte("peers")
	BucketLog      = []byte("log")
	BucketUploads  = []byte("uploads")
	BucketStaging  = []byte("staging")
	// BucketDynVariants indexes dynamic variants by creation time (v2).
	BucketDynVariants = []byte("dynvariants")

	// KeySchema holds the schema version in BucketMeta.
	KeySchema = []byte("schema")
	// KeyDynVariants holds the number of dynamic variants in BucketMeta (v2).
	KeyDynVariants = []byte("dynvariants")
)

// Errors returned by migrations.
var (
	// ErrNewerSchema is returned when the file was written by a newer build
	// than this one; it is left untouched.
	ErrNewerSchema = errors.New("schema is newer than this build")
	// ErrCorrupt is returned when the meta bucket exists but holds no
	// readable schema version.
	ErrCorrupt = errors.New("schema version unreadable")
)

// steps[i] upgrades a file from version i to version i+1.
var steps = []func(tx *bbolt.Tx) error{
	toV1,
	toV2,
}

// Migrate upgrades db to Current in one write transaction. An up-to-date
// file costs one short transaction that changes nothing.
func Migrate(db *bbolt.DB) error {
	// A read first: a file already at Current needs no write transaction
	// (and so no fsync) at every open.
	var v int
	if err := db.View(func(tx *bbolt.Tx) (err error) {
		v, err = Version(tx)
		return err
	}); err != nil {
		return err
	}
	if v == Current {
		return nil
	}
	return db.Update(func(tx *bbolt.Tx) error { return MigrateTx(tx, Current) })
}

// MigrateTx upgrades the file inside tx to version target (at most
// Current). Tests use a target below Current to write old layouts.
func MigrateTx(tx *bbolt.Tx, target int) error {
	if target > Current {
		return fmt.Errorf("migrate to v%d: %w", target, ErrNewerSchema)
	}
	v, err := Version(tx)
	if err != nil {
		return err
	}
	for ; v < target; v++ {
		if err := steps[v](tx); err != nil {
			return fmt.Errorf("migrate v%d to v%d: %w", v, v+1, err)
		}
		if err := setVersion(tx, v+1); err != nil {
			return err
		}
	}
	return nil
}

// Version returns the schema version of the file inside tx: 0 for a file
// without a meta bucket.
func Version(tx *bbolt.Tx) (int, error) {
	meta := tx.Bucket(BucketMeta)
	if meta == nil {
		return 0, nil
	}
	raw := meta.Get(KeySchema)
	if len(raw) != 8 {
		return 0, fmt.Errorf("read schema version: %w", ErrCorrupt)
	}
	v := binary.BigEndian.Uint64(raw)
	if v > Current {
		return 0, fmt.Errorf("schema v%d, build knows v%d: %w", v, Current, ErrNewerSchema)
	}
	return int(v), nil
}

func setVersion(tx *bbolt.Tx, v int) error {
	meta := tx.Bucket(BucketMeta)
	if meta == nil {
		return fmt.Errorf("set schema version: %w", ErrCorrupt)
	}
	return meta.Put(KeySchema, binary.BigEndian.AppendUint64(nil, uint64(v)))
}
