package storage

import (
	"errors"
	"io"
	"log/slog"
	"time"
)

// Errors returned by the storage package.
var (
	// ErrNotFound is returned when a key, blob, upload session, variant or
	// peer does not exist (a deleted object is not found).
	ErrNotFound = errors.New("not found")
	// ErrDigestMismatch is returned when content does not hash to the
	// SHA-256 the writer promised; nothing is stored.
	ErrDigestMismatch = errors.New("sha-256 digest mismatch")
	// ErrOffsetMismatch is returned when an upload chunk does not start
	// where the session's received bytes end (a chunk out of order).
	ErrOffsetMismatch = errors.New("chunk offset does not match bytes received")
	// ErrSessionBusy is returned when another stream still writes to an
	// upload session after the caller's context ended.
	ErrSessionBusy = errors.New("another stream still writes to the upload session")
	// ErrLogGap is returned by Apply when an entry's seq is past its
	// origin's head + 1: the entries between must be applied first.
	ErrLogGap = errors.New("log entry leaves a gap")
	// ErrMissingBlob is returned by Apply when a write's blob is not stored.
	ErrMissingBlob = errors.New("blob not stored")
	// ErrTooLarge is returned when content is over Options.MaxObjectSize.
	ErrTooLarge = errors.New("object too large")
	// ErrInvalid is returned for a field a writer got wrong other than the
	// key (ErrBadKey): metadata past its bounds, a negative size.
	ErrInvalid = errors.New("invalid")
	// ErrClosed is returned after Close.
	ErrClosed = errors.New("database closed")
)

// Object is the metadata of one key. A deleted key keeps a tombstone
// (Deleted set) so that a later replicated older write cannot revive it.
type Object struct {
	Key         string
	Size        int64
	SHA256      string // lowercase hex; the blob's address and the ETag
	ContentType string
	Meta        map[string]string
	Version     uint64 // hybrid logical clock timestamp of the write
	Origin      string // id of the server that took the write
	Deleted     bool
	Modified    time.Time
}

// LogEntry is one write or delete as the replication log records it: Seq
// numbers Origin's writes 1, 2, 3, ... without gaps.
type LogEntry struct {
	Origin      string
	Seq         uint64
	Key         string
	Version     uint64
	SHA256      string
	Deleted     bool
	Size        int64
	ContentType string
	Meta        map[string]string
	Modified    time.Time
}

// Peer is one row of the membership table. Removed rows are tombstones.
type Peer struct {
	ID       string
	URL      string
	Provider string
	Version  uint64 // hybrid logical clock of the last change to this row
	Removed  bool
}

// Variant is a resized image kept beside its source blob.
type Variant struct {
	SourceSHA256 string
	Width        int
	Height       int
	ContentType  string
	Precomputed  bool // made at upload rather than on request
	Data         []byte
}

// VariantInfo describes a variant without its bytes.
type VariantInfo struct {
	Width, Height int
	Bytes         int64
	ContentType   string
	Precomputed   bool
}

// Upload is the state of a resumable multi-message upload session.
type Upload struct {
	ID          string
	Key         string
	ContentType string
	Meta        map[string]string
	Received    int64
	TotalSize   int64 // zero when unknown
	Started     time.Time
}

// Options configures Open. The zero value of each field means its default.
type Options struct {
	// NodeID is the origin recorded on local writes. Required.
	NodeID string
	// ChunkSize is the size blobs are split into; zero means DefaultChunkSize.
	ChunkSize int
	// MaxObjectSize bounds one object's size; zero means no bound.
	MaxObjectSize int64
	// Logger gets storage's few log lines; nil means none.
	Logger *slog.Logger
	// OnAppend, if set, is called (without blocking on storage locks) after
	// every commit that appended to the replication log.
	OnAppend func()
	// Clock returns the wall time; nil means time.Now. Tests set it.
	Clock func() time.Time
	// SweepInterval is how often the janitor expires idle upload sessions
	// (after DefaultUploadTTL) and frees blobs left unreferenced (after
	// DefaultOrphanBlobAge); zero means DefaultSweepInterval, negative
	// turns the janitor off (unit tests do).
	SweepInterval time.Duration
	// HotCacheBytes is the memory budget of the cache of small objects
	// (up to 64 KiB) served without a read transaction; zero means
	// DefaultHotCacheBytes, negative turns the cache off.
	HotCacheBytes int64
}

// PutRequest describes a write of a whole object from a stream.
type PutRequest struct {
	Key         string
	ContentType string
	Meta        map[string]string
	Body        io.Reader
	// SHA256, if set, is the hex digest Body must hash to.
	SHA256 string
}
