package storage

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"metacdn/migrations"
)

// DefaultChunkSize is the size blobs are split into (see DESIGN.md for the
// measurement behind it).
const DefaultChunkSize = 4 << 20

// DefaultBatchBytes bounds the chunk bytes Put buffers before committing
// them in one write transaction. One batch commits while the next fills,
// so a Put holds two (see DESIGN.md for why 8 MiB).
const DefaultBatchBytes = 8 << 20

// Defaults of the background janitor.
const (
	DefaultSweepInterval = 10 * time.Minute
	DefaultUploadTTL     = 24 * time.Hour
	// DefaultOrphanBlobAge is how long a blob stored by PutBlob may stay
	// unreferenced before the janitor frees it: long enough for the log
	// entry that names it to arrive.
	DefaultOrphanBlobAge = time.Hour
)

// Bucket names, shared with migrations which creates them.
var (
	bucketMeta        = migrations.BucketMeta
	bucketObjects     = migrations.BucketObjects
	bucketBlobs       = migrations.BucketBlobs
	bucketChunks      = migrations.BucketChunks
	bucketVariants    = migrations.BucketVariants
	bucketDynVariants = migrations.BucketDynVariants
	bucketPeers       = migrations.BucketPeers
	bucketLog         = migrations.BucketLog
	bucketUploads     = migrations.BucketUploads
	bucketStaging     = migrations.BucketStaging
)

// DB is one node's bbolt database. Its methods are safe for concurrent use.
type DB struct {
	bolt      *bbolt.DB
	nodeID    string
	chunkSize int
	batch     int
	maxSize   int64
	logger    *slog.Logger
	onAppend  func()
	now       func() time.Time
	clock     *hlc
	closed    atomic.Bool

	bufs    sync.Pool // *[]byte of chunkSize, for ingest
	writers sessionWriters
	hot     *hotCache
	wb      *writebackNudger // nil where it cannot work

	stop chan struct{}
	wg   sync.WaitGroup
}

// Open opens (creating if needed) the database at path, runs migrations,
// drops the chunks of Puts that a crash interrupted and starts the janitor
// (unless Options.SweepInterval is negative).
func Open(path string, opts Options) (*DB, error) {
	if opts.NodeID == "" {
		return nil, errors.New("open storage: NodeID is required")
	}
	if opts.ChunkSize < 0 || opts.ChunkSize > math.MaxInt32 {
		return nil, fmt.Errorf("open storage: chunk size %d out of range", opts.ChunkSize)
	}
	bolt, err := bbolt.Open(path, 0o600, boltOptions())
	if err != nil {
		return nil, fmt.Errorf("open storage: %w", err)
	}
	if err := migrations.Migrate(bolt); err != nil {
		bolt.Close()
		return nil, fmt.Errorf("open storage: %w", err)
	}
	// Each time bbolt grows the file it truncates and fsyncs it; with
	// the default 16 MiB step a 16 MiB ingest batch would pay that on
	// nearly every commit. The extension is sparse, so a bigger step
	// costs no disk until written.
	bolt.AllocSize = allocSize
	db := &DB{
		bolt:      bolt,
		nodeID:    opts.NodeID,
		chunkSize: opts.ChunkSize,
		batch:     DefaultBatchBytes,
		maxSize:   opts.MaxObjectSize,
		logger:    opts.Logger,
		onAppend:  opts.OnAppend,
		now:       opts.Clock,
		stop:      make(chan struct{}),
	}
	db.wb = newWritebackNudger(path)
	switch {
	case opts.HotCacheBytes == 0:
		db.hot = newHotCache(DefaultHotCacheBytes)
	default:
		db.hot = newHotCache(max(opts.HotCacheBytes, 0))
	}
	if db.chunkSize == 0 {
		db.chunkSize = DefaultChunkSize
	}
	if db.now == nil {
		db.now = time.Now
	}
	if db.logger == nil {
		db.logger = slog.New(slog.DiscardHandler)
	}
	db.clock = newHLC(db.now)
	if err := db.recover(); err != nil {
		db.wb.close()
		bolt.Close()
		return nil, fmt.Errorf("open storage: %w", err)
	}
	if opts.SweepInterval >= 0 {
		interval := opts.SweepInterval
		if interval == 0 {
			interval = DefaultSweepInterval
		}
		db.wg.Add(1)
		go func() { defer db.wg.Done(); db.janitor(interval) }()
	}
	return db, nil
}

// boltOptions are the bbolt settings; each is set for a reason.
func boltOptions() *bbolt.Options {
	return &bbolt.Options{
		// A second server started on the same data directory fails within
		// a second instead of waiting forever on the file lock.
		Timeout: time.Second,
		// Blob chunks are multi-page values: the hashmap freelist finds a
		// run of free pages in O(1), the array freelist scans the list.
		FreelistType: bbolt.FreelistMapType,
		// Deleting big blobs leaves long freelists; writing them at every
		// commit would cost more than ingesting. The price is a scan of the
		// page tree when the file is opened after a crash.
		NoFreelistSync: true,
		// bbolt remaps when the file outgrows the mapping, and a remap
		// waits for every read transaction to end. Reserving 1 GiB of
		// address space up front (only address space: the file still
		// grows as written) keeps readers and writers from meeting there
		// until the file passes it. 32-bit builds keep bbolt's default.
		InitialMmapSize: initialMmapSize(),
		// NoSync stays false: a write returns only after fsync.
	}
}

// allocSize is the step bbolt grows the file by.
const allocSize = 128 << 20

func initialMmapSize() int {
	if runtime.GOARCH == "386" || runtime.GOARCH == "arm" {
		return 0
	}
	return 1 << 30
}

// recover frees the chunks of Puts whose process died before their final
// commit. bbolt's file lock guarantees no other process is writing, so
// every staged set at open is an orphan.
func (db *DB) recover() error {
	var n int
	err := db.bolt.Update(func(tx *bbolt.Tx) error {
		staging := tx.Bucket(bucketStaging)
		var sets []uint64
		if err := staging.ForEach(func(k, _ []byte) error {
			sets = append(sets, beUint64(k))
			return nil
		}); err != nil {
			return err
		}
		for _, set := range sets {
			if err := deleteSet(tx, set); err != nil {
				return err
			}
			if err := staging.Delete(seqKey(set)); err != nil {
				return err
			}
		}
		n = len(sets)
		// Resume the clock past our own last write: a clock that went
		// backwards across a restart must not issue smaller versions.
		if ob := tx.Bucket(bucketLog).Bucket([]byte(db.nodeID)); ob != nil {
			if k, v := ob.Cursor().Last(); k != nil {
				e, err := decodeLogEntry(db.nodeID, k, v)
				if err != nil {
					return err
				}
				db.clock.observe(e.Version)
			}
		}
		return nil
	})
	if n > 0 {
		db.logger.Info("dropped interrupted puts", "sets", n)
	}
	return err
}

// Close stops the janitor and closes the database; open BlobReaders fail
// afterwards with ErrClosed. Close waits for running transactions.
func (db *DB) Close() error {
	if !db.closed.CompareAndSwap(false, true) {
		return nil
	}
	close(db.stop)
	db.wg.Wait()
	defer db.wb.close()
	if err := db.bolt.Close(); err != nil {
		return fmt.Errorf("close storage: %w", err)
	}
	return nil
}

// NodeID is the origin of local writes.
func (db *DB) NodeID() string { return db.nodeID }

// Now returns a new hybrid logical clock timestamp, greater than every
// version this database has issued or applied. (The membership table
// versions its rows with a clock of its own, in wall nanoseconds, which
// this one observes through PutPeer: see checkLead.)
func (db *DB) Now() uint64 { return db.clock.next(0) }

// Bolt returns the underlying bbolt database, for tools and tests.
func (db *DB) Bolt() *bbolt.DB { return db.bolt }

func (db *DB) view(fn func(tx *bbolt.Tx) error) error {
	if db.closed.Load() {
		return ErrClosed
	}
	return mapClosed(db.bolt.View(fn))
}

func (db *DB) update(fn func(tx *bbolt.Tx) error) error {
	if db.closed.Load() {
		return ErrClosed
	}
	err := db.bolt.Update(fn)
	// Cleared once the commit is done and before the writer returns, so
	// no read that starts after a write was acknowledged finds the old
	// state (see hotCache).
	db.hot.clear()
	return mapClosed(err)
}

// updateBulk is update for a transaction that writes megabytes of
// chunks: the disk starts writing them while bbolt still copies the rest
// (see writebackNudger).
func (db *DB) updateBulk(fn func(tx *bbolt.Tx) error) error {
	return db.wb.during(func() error { return db.update(fn) }, db.dataSize)
}

// dataSize is how far into its file bbolt has pages.
func (db *DB) dataSize() int64 {
	var n int64
	_ = db.view(func(tx *bbolt.Tx) error { n = tx.Size(); return nil })
	return n
}

func mapClosed(err error) error {
	if errors.Is(err, berrors.ErrDatabaseNotOpen) {
		return ErrClosed
	}
	return err
}

// appended runs Options.OnAppend after a commit that grew the log.
func (db *DB) appended() {
	if db.onAppend != nil {
		db.onAppend()
	}
}

func beUint64(b []byte) uint64 {
	if len(b) < 8 {
		return 0
	}
	return uint64(b[0])<<56 | uint64(b[1])<<48 | uint64(b[2])<<40 | uint64(b[3])<<32 |
		uint64(b[4])<<24 | uint64(b[5])<<16 | uint64(b[6])<<8 | uint64(b[7])
}
