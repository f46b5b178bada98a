package storage

import (
	"fmt"

	"go.etcd.io/bbolt"
	"google.golang.org/protobuf/encoding/protowire"
)

// Stats counts what the database holds.
type Stats struct {
	Objects, Tombstones, Blobs, Chunks, Variants, Uploads int64
	BlobBytes                                             int64
	FileBytes                                             int64
}

// Stats returns the database's counts. It walks the buckets in one read
// transaction (cost grows with the number of keys, not with blob bytes):
// meant for metrics scraped every few seconds, not for every request.
func (db *DB) Stats() (Stats, error) {
	var s Stats
	err := db.view(func(tx *bbolt.Tx) error {
		s = Stats{FileBytes: tx.Size()}
		err := tx.Bucket(bucketObjects).ForEach(func(k, v []byte) error {
			deleted, err := isTombstone(v)
			if err != nil {
				return fmt.Errorf("object %q: %w", k, err)
			}
			if deleted {
				s.Tombstones++
			} else {
				s.Objects++
			}
			return nil
		})
		if err != nil {
			return err
		}
		err = tx.Bucket(bucketBlobs).ForEach(func(_, v []byte) error {
			rec, err := decodeBlobRecord(v)
			if err != nil {
				return err
			}
			s.Blobs++
			s.BlobBytes += rec.Size
			return nil
		})
		if err != nil {
			return err
		}
		s.Chunks = countKeys(tx.Bucket(bucketChunks))
		s.Variants = countKeys(tx.Bucket(bucketVariants))
		s.Uploads = countKeys(tx.Bucket(bucketUploads))
		return nil
	})
	if err != nil {
		return Stats{}, fmt.Errorf("stats: %w", err)
	}
	return s, nil
}

// countKeys counts with a cursor: keys only, values (chunk bytes) are
// never touched, unlike Bucket.Stats which reads overflow pages' headers.
func countKeys(b *bbolt.Bucket) int64 {
	var n int64
	c := b.Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		n++
	}
	return n
}

// isTombstone reads only the deleted field (8) of an object record.
// Decoding whole records, metadata maps and strings included, made each
// scrape of a node with a million objects cost about a second of CPU
// and hold a read transaction as long.
func isTombstone(v []byte) (bool, error) {
	deleted := false
	for len(v) > 0 {
		num, typ, n := protowire.ConsumeTag(v)
		if n < 0 {
			return false, protowire.ParseError(n)
		}
		v = v[n:]
		if num == 8 && typ == protowire.VarintType {
			x, n := protowire.ConsumeVarint(v)
			if n < 0 {
				return false, protowire.ParseError(n)
			}
			deleted = x != 0
			v = v[n:]
			continue
		}
		n = protowire.ConsumeFieldValue(num, typ, v)
		if n < 0 {
			return false, protowire.ParseError(n)
		}
		v = v[n:]
	}
	return deleted, nil
}

// CommitStats are bbolt's running totals, for metrics: the time commits
// spent copying values into pages (spill) and writing the pages out with
// their fdatasyncs (write), the page writes made, the bytes of free pages
// a commit may reuse, and the read transactions open now.
type CommitStats struct {
	SpillSeconds, WriteSeconds float64
	PageWrites                 int64
	FreeBytes                  int64
	OpenReads                  int64
}

// CommitStats reads bbolt's counters; it takes no transaction.
func (db *DB) CommitStats() CommitStats {
	st := db.bolt.Stats()
	return CommitStats{
		SpillSeconds: st.TxStats.GetSpillTime().Seconds(),
		WriteSeconds: st.TxStats.GetWriteTime().Seconds(),
		PageWrites:   st.TxStats.GetWrite(),
		FreeBytes:    int64(st.FreeAlloc),
		OpenReads:    int64(st.OpenTxN),
	}
}
