package pricedb

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"

	berrors "go.etcd.io/bbolt/errors"
)

// Bucket layout: "prices" maps provider -> JSON Price; "meta" holds the
// global version (8 bytes big-endian) and the epoch.
var (
	bucketPrices = []byte("prices")
	bucketMeta   = []byte("meta")
	keyVersion   = []byte("version")
	keyEpoch     = []byte("epoch")
)

// DefaultOpenTimeout is how long Open waits for another process to release
// the database file's lock.
const DefaultOpenTimeout = 2 * time.Second

// Options tune Open. The zero value is usable.
type Options struct {
	// Timeout is how long to wait for the file lock; zero means
	// DefaultOpenTimeout.
	Timeout time.Duration
	// Logger receives the store's few log lines; nil means quiet.
	Logger *slog.Logger
	// Now gives the time stamped on changed rows; nil means time.Now.
	Now func() time.Time
}

// Store keeps price rows in a bbolt file. It is safe for concurrent use.
type Store struct {
	db      *bolt.DB
	logger  *slog.Logger
	now     func() time.Time
	epoch   string
	version atomic.Uint64 // mirrors the persisted version after each commit

	closeOnce sync.Once
	closeErr  error
}

// Open opens or creates the price database at path. It fails if another
// process holds the file for longer than opts.Timeout.
func Open(path string, opts Options) (*Store, error) {
	if opts.Timeout == 0 {
		opts.Timeout = DefaultOpenTimeout
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: opts.Timeout})
	if err != nil {
		return nil, fmt.Errorf("open price db %s: %w", path, err)
	}
	s := &Store{db: db, logger: opts.Logger, now: opts.Now}
	err = db.Update(func(tx *bolt.Tx) error {
		if _, err := tx.CreateBucketIfNotExists(bucketPrices); err != nil {
			return err
		}
		meta, err := tx.CreateBucketIfNotExists(bucketMeta)
		if err != nil {
			return err
		}
		epoch := meta.Get(keyEpoch)
		if epoch == nil {
			var b [8]byte
			if _, err := rand.Read(b[:]); err != nil {
				return err
			}
			epoch = []byte(hex.EncodeToString(b[:]))
			if err := meta.Put(keyEpoch, epoch); err != nil {
				return err
			}
		}
		s.epoch = string(epoch)
		s.version.Store(readVersion(meta))
		return nil
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("init price db: %w", err)
	}
	s.logger.Debug("price db open", "path", path, "version", s.version.Load(), "epoch", s.epoch)
	return s, nil
}

// Close closes the database file. Calls after the first return its result.
func (s *Store) Close() error {
	s.closeOnce.Do(func() { s.closeErr = s.db.Close() })
	return s.closeErr
}

// Path is the database file's path.
func (s *Store) Path() string { return s.db.Path() }

// Version is the global version: 0 for a database never written, bumped by
// every change. It reads memory, not the file.
func (s *Store) Version() uint64 { return s.version.Load() }

// Epoch is a random id made when the database file was created; with the
// version it identifies one state of the prices.
func (s *Store) Epoch() string { return s.epoch }

// List returns every row sorted by provider and the version they are at,
// read in one transaction.
func (s *Store) List() ([]Price, uint64, error) {
	var out []Price
	var version uint64
	err := s.view(func(tx *bolt.Tx) error {
		version = readVersion(tx.Bucket(bucketMeta))
		// bbolt iterates keys in byte order, which is provider order.
		return tx.Bucket(bucketPrices).ForEach(func(k, v []byte) error {
			var p Price
			if err := json.Unmarshal(v, &p); err != nil {
				return fmt.Errorf("row %q: %w", k, err)
			}
			out = append(out, p)
			return nil
		})
	})
	if err != nil {
		return nil, 0, fmt.Errorf("list prices: %w", err)
	}
	if out == nil {
		out = []Price{}
	}
	return out, version, nil
}

// Get returns provider's row, or ErrNotFound.
func (s *Store) Get(provider string) (Price, error) {
	if err := ValidateProvider(provider); err != nil {
		return Price{}, err
	}
	var p Price
	err := s.view(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketPrices).Get([]byte(provider))
		if v == nil {
			return ErrNotFound
		}
		// Unmarshal copies, so nothing of bbolt's memory escapes the tx.
		return json.Unmarshal(v, &p)
	})
	if err != nil {
		return Price{}, fmt.Errorf("get price %s: %w", provider, err)
	}
	return p, nil
}

// Put creates or replaces p.Provider's row after validating it, and
// returns the row as stored and whether it was created. A put that changes
// nothing keeps the row's version and does not bump the global one, so
// re-applying a price file does not wake every poller.
func (s *Store) Put(p Price) (Price, bool, error) {
	if err := p.Validate(); err != nil {
		return Price{}, false, err
	}
	var stored Price
	var created, changed bool
	var version uint64
	err := s.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketPrices)
		if old := b.Get([]byte(p.Provider)); old != nil {
			var prev Price
			if err := json.Unmarshal(old, &prev); err != nil {
				return fmt.Errorf("row %q: %w", p.Provider, err)
			}
			if sameContent(prev, p) {
				stored = prev
				return nil
			}
		} else {
			created = true
		}
		meta := tx.Bucket(bucketMeta)
		version = readVersion(meta) + 1
		p.Version = version
		p.UpdatedAt = s.now().UTC().Truncate(time.Millisecond)
		if err := putRow(b, p); err != nil {
			return err
		}
		stored, changed = p, true
		return writeVersion(meta, version)
	})
	if err != nil {
		return Price{}, false, fmt.Errorf("put price %s: %w", p.Provider, err)
	}
	if changed {
		s.version.Store(version)
		s.logger.Info("price changed", "provider", p.Provider, "version", version, "created", created)
	}
	return stored, created, nil
}

// Delete removes provider's row and returns the new global version, or
// ErrNotFound if there is no such row.
func (s *Store) Delete(provider string) (uint64, error) {
	if err := ValidateProvider(provider); err != nil {
		return 0, err
	}
	var version uint64
	err := s.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketPrices)
		if b.Get([]byte(provider)) == nil {
			return ErrNotFound
		}
		if err := b.Delete([]byte(provider)); err != nil {
			return err
		}
		meta := tx.Bucket(bucketMeta)
		version = readVersion(meta) + 1
		return writeVersion(meta, version)
	})
	if err != nil {
		return 0, fmt.Errorf("delete price %s: %w", provider, err)
	}
	s.version.Store(version)
	s.logger.Info("price deleted", "provider", provider, "version", version)
	return version, nil
}

// Seed writes rows, all at one new version, if and only if the database
// has never been written (version 0): a database whose rows were all
// deleted stays empty. It reports whether it wrote anything.
func (s *Store) Seed(rows []Price) (bool, error) {
	seen := make(map[string]bool, len(rows))
	for i := range rows {
		if err := rows[i].Validate(); err != nil {
			return false, fmt.Errorf("seed row %d: %w", i, err)
		}
		if seen[rows[i].Provider] {
			return false, fmt.Errorf("seed: %w", fieldErr("provider", "repeats %q", rows[i].Provider))
		}
		seen[rows[i].Provider] = true
	}
	var version uint64
	err := s.update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if readVersion(meta) != 0 {
			return nil
		}
		version = 1
		now := s.now().UTC().Truncate(time.Millisecond)
		b := tx.Bucket(bucketPrices)
		for _, p := range rows {
			p.Version, p.UpdatedAt = version, now
			if err := putRow(b, p); err != nil {
				return err
			}
		}
		return writeVersion(meta, version)
	})
	if err != nil {
		return false, fmt.Errorf("seed prices: %w", err)
	}
	if version == 0 {
		return false, nil
	}
	s.version.Store(version)
	s.logger.Info("prices seeded", "rows", len(rows), "version", version)
	return true, nil
}

func (s *Store) view(fn func(*bolt.Tx) error) error {
	err := s.db.View(fn)
	if errors.Is(err, berrors.ErrDatabaseNotOpen) {
		return ErrClosed
	}
	return err
}

func (s *Store) update(fn func(*bolt.Tx) error) error {
	err := s.db.Update(fn)
	if errors.Is(err, berrors.ErrDatabaseNotOpen) {
		return ErrClosed
	}
	return err
}

func putRow(b *bolt.Bucket, p Price) error {
	v, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("encode row %q: %w", p.Provider, err)
	}
	return b.Put([]byte(p.Provider), v)
}

func readVersion(meta *bolt.Bucket) uint64 {
	v := meta.Get(keyVersion)
	if len(v) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(v)
}

func writeVersion(meta *bolt.Bucket, v uint64) error {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], v)
	return meta.Put(keyVersion, b[:])
}
