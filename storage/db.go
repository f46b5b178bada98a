package storage

// This file is the API contract of storage.DB; its bodies are filled in.

import (
	"context"
	"io"
	"time"
)

// DefaultChunkSize is the size blobs are split into.
const DefaultChunkSize = 4 << 20

// DB is one node's bbolt database.
type DB struct{}

// Open opens (creating if needed) the database at path, running migrations.
func Open(path string, opts Options) (*DB, error) { panic("not implemented") }

// Close closes the database; open BlobReaders fail afterwards.
func (db *DB) Close() error { panic("not implemented") }

// NodeID is the origin of local writes.
func (db *DB) NodeID() string { panic("not implemented") }

// Put streams req.Body into chunks and commits the object, its blob and a
// log entry. It returns after the final commit.
func (db *DB) Put(ctx context.Context, req PutRequest) (Object, error) { panic("not implemented") }

// Get returns a live object's metadata.
func (db *DB) Get(key string) (Object, error) { panic("not implemented") }

// List returns up to limit live objects with the prefix, keys after after.
func (db *DB) List(prefix, after string, limit int) ([]Object, error) { panic("not implemented") }

// Delete replaces a live object by a tombstone and logs it.
func (db *DB) Delete(key string) (Object, error) { panic("not implemented") }

// OpenBlob opens a blob for reading, chunk by chunk.
func (db *DB) OpenBlob(sha string) (*BlobReader, error) { panic("not implemented") }

// HasBlob reports whether a blob is stored.
func (db *DB) HasBlob(sha string) (bool, error) { panic("not implemented") }

// PutBlob stores a blob that a replicated log entry will reference.
func (db *DB) PutBlob(ctx context.Context, r io.Reader, sha string) error { panic("not implemented") }

// BeginUpload opens a resumable upload session.
func (db *DB) BeginUpload(key, contentType string, meta map[string]string, totalSize int64) (Upload, error) {
	panic("not implemented")
}

// AppendUpload appends data at offset to a session.
func (db *DB) AppendUpload(id string, offset int64, data []byte) (Upload, error) {
	panic("not implemented")
}

// FinishUpload verifies the session's digest and commits the object.
func (db *DB) FinishUpload(id, sha string) (Object, error) { panic("not implemented") }

// GetUpload returns a session's state.
func (db *DB) GetUpload(id string) (Upload, error) { panic("not implemented") }

// AbortUpload drops a session and its chunks.
func (db *DB) AbortUpload(id string) error { panic("not implemented") }

// ExpireUploads aborts sessions idle longer than age.
func (db *DB) ExpireUploads(age time.Duration) (int, error) { panic("not implemented") }

// Heads returns the highest contiguous seq stored per origin.
func (db *DB) Heads() (map[string]uint64, error) { panic("not implemented") }

// ReadLog returns up to limit entries of origin after seq after.
func (db *DB) ReadLog(origin string, after uint64, limit int) ([]LogEntry, error) {
	panic("not implemented")
}

// Apply records a replicated entry and applies it last-writer-wins.
func (db *DB) Apply(e LogEntry) (changed bool, err error) { panic("not implemented") }

// Peers returns the membership table, tombstones included.
func (db *DB) Peers() ([]Peer, error) { panic("not implemented") }

// PutPeer writes a membership row.
func (db *DB) PutPeer(p Peer) error { panic("not implemented") }

// PutVariant stores a variant.
func (db *DB) PutVariant(v Variant) error { panic("not implemented") }

// GetVariant returns a stored variant.
func (db *DB) GetVariant(sha string, width int) (Variant, error) { panic("not implemented") }

// Variants lists a blob's variants by width.
func (db *DB) Variants(sha string) ([]VariantInfo, error) { panic("not implemented") }

// BlobReader reads a blob chunk by chunk.
type BlobReader struct{}

func (br *BlobReader) Read(p []byte) (int, error)                   { panic("not implemented") }
func (br *BlobReader) ReadAt(p []byte, off int64) (int, error)      { panic("not implemented") }
func (br *BlobReader) Seek(offset int64, whence int) (int64, error) { panic("not implemented") }
func (br *BlobReader) Size() int64                                  { panic("not implemented") }
func (br *BlobReader) Close() error                                 { panic("not implemented") }

// Stats counts what the database holds.
type Stats struct {
	Objects, Tombstones, Blobs, Chunks, Variants, Uploads int64
	BlobBytes                                             int64
	FileBytes                                             int64
}

// Stats returns the database's counts.
func (db *DB) Stats() (Stats, error) { panic("not implemented") }
