// Package storage keeps one metacdn node's data in a single bbolt file:
// objects and their content, image variants, the membership table, the
// replication log and resumable upload sessions. DESIGN.md says why it is
// built the way it is.
//
// # Objects and blobs
//
// An object is a key's metadata; its content is a blob addressed by
// SHA-256, stored once however many keys hold it and freed when the last
// reference (a live object) goes. Put streams content in chunks of
// Options.ChunkSize, committing several chunks per write transaction, and
// commits the object with its log entry last: a Put that fails leaves
// nothing behind. Keys must pass ValidateKey.
//
// # Reading
//
// OpenObject and OpenBlob return a BlobReader (io.ReadSeeker and
// io.ReaderAt, for http.ServeContent, and io.WriterTo, which writes from
// its own buffer). It holds no transaction between reads: each read copies
// up to a window out of bbolt in its own short read transaction, so a slow
// client never holds back writers. Close returns its buffer to a pool.
//
// # Replication log
//
// Every local write and delete appends an entry (origin = NodeID, seq =
// next) in the transaction that changes the object. Apply stores entries
// of other origins in order (ErrLogGap otherwise) and applies them
// last-writer-wins by (Version, Origin), versions coming from a hybrid
// logical clock; ApplyBatch applies many in one transaction, and Skip
// records a write whose blob no peer has any more (it was superseded).
// PutBlob stores the blob an entry needs before it is applied. Heads and
// ReadLog serve the log to peers.
//
// # Upload sessions
//
// BeginUpload, AppendUpload and FinishUpload take a large file in pieces;
// each piece commits with the running SHA-256 state, so a session resumes
// after a restart. AppendStream's batches store the latest state ready,
// which may lag their chunks; going on hashes the bytes in between first.
// ExpireUploads drops idle sessions.
//
// # Variants
//
// PutVariant keeps resized images beside their source blob; they go when
// the blob goes. Dynamic variants (made on request) are indexed by age:
// CountDynamicVariants and DynamicVariants let the image code cap them,
// evicting the oldest with DeleteVariant.
//
// # Background work
//
// Open starts a janitor (Options.SweepInterval; negative turns it off)
// that expires idle upload sessions and frees blobs PutBlob stored that no
// entry claimed within an hour. Close stops it and waits.
//
// # Errors
//
// Callers test errors with errors.Is against the ErrX sentinels:
// ErrNotFound, ErrBadKey, ErrDigestMismatch, ErrOffsetMismatch, ErrLogGap,
// ErrMissingBlob, ErrTooLarge, ErrClosed.
package storage
