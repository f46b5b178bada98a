package storage

import (
	"bytes"

	"go.etcd.io/bbolt"
)

// Chunk storage. A bbolt leaf page holds at least two keys and a write
// rewrites every leaf it touches, values included. Chunk keys only grow
// (new sets get higher numbers), so every write lands in the last leaf,
// which holds the previous write's chunks: stored as plain values, each
// batch of 4 MiB chunks rewrote the 2-4 chunks before it, doubling the
// bytes written (measured: 496 MB of pages allocated for a 256 MiB Put).
// A chunk of at least subBucketMin bytes therefore lives alone in a
// one-key sub-bucket: the shared leaf keeps only 32-byte bucket headers,
// and the chunk's pages are written once. Smaller chunks stay plain
// values, where rewriting neighbours costs little.

// subBucketMin is the smallest chunk kept in its own sub-bucket; bbolt
// inlines buckets under a quarter page anyway.
const subBucketMin = 2 << 10

// chunkDataKey is the one key of a chunk's sub-bucket.
var chunkDataKey = []byte{0}

// putChunk stores a new chunk; data must not be empty (an empty value
// would read like a sub-bucket).
func putChunk(chunks *bbolt.Bucket, key, data []byte) error {
	if len(data) < subBucketMin {
		return chunks.Put(key, data)
	}
	b, err := chunks.CreateBucket(key)
	if err != nil {
		return err
	}
	return b.Put(chunkDataKey, data)
}

// replaceChunk stores data under key, whatever was there.
func replaceChunk(chunks *bbolt.Bucket, key, data []byte) error {
	var err error
	if chunks.Bucket(key) != nil {
		err = chunks.DeleteBucket(key)
	} else {
		// A plain value: delete it so that a chunk grown past
		// subBucketMin can become a sub-bucket under the same key.
		err = chunks.Delete(key)
	}
	if err != nil {
		return err
	}
	return putChunk(chunks, key, data)
}

// chunkValue returns the bytes of the chunk at key given the value a
// cursor or Get returned for it (nil for a sub-bucket), or nil if absent.
func chunkValue(chunks *bbolt.Bucket, key, v []byte) []byte {
	if v != nil {
		return v
	}
	if b := chunks.Bucket(key); b != nil {
		return b.Get(chunkDataKey)
	}
	return nil
}

// getChunk returns the chunk at key or nil.
func getChunk(chunks *bbolt.Bucket, key []byte) []byte {
	return chunkValue(chunks, key, chunks.Get(key))
}

// deleteSet deletes every chunk of a set.
func deleteSet(tx *bbolt.Tx, set uint64) error {
	chunks := tx.Bucket(bucketChunks)
	c := chunks.Cursor()
	prefix := seqKey(set)
	// Deleting moves the cursor; re-seek each time rather than trust Next.
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Seek(prefix) {
		var err error
		if v == nil {
			err = chunks.DeleteBucket(k)
		} else {
			err = c.Delete()
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// walkChunks calls fn with the bytes of set from off on, chunk by chunk,
// until fn returns false. The slices point into the transaction's pages.
// It returns errBlobGone if a chunk is missing before fn is done.
func walkChunks(tx *bbolt.Tx, set uint64, off int64, fn func(b []byte) bool) error {
	chunks := tx.Bucket(bucketChunks)
	c := chunks.Cursor()
	prefix := seqKey(set)
	k, v := c.Seek(chunkKey(set, off))
	if k == nil || !bytes.HasPrefix(k, prefix) || int64(beUint64(k[8:])) > off {
		// off is inside the chunk before the seek position.
		k, v = c.Prev()
	}
	for ; ; k, v = c.Next() {
		if k == nil || !bytes.HasPrefix(k, prefix) {
			return errBlobGone
		}
		v = chunkValue(chunks, k, v)
		at := off - int64(beUint64(k[8:]))
		if at < 0 || at >= int64(len(v)) {
			return errBlobGone
		}
		if !fn(v[at:]) {
			return nil
		}
		off += int64(len(v)) - at
	}
}
