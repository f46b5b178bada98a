package migrations

import "go.etcd.io/bbolt"

// toV1 creates the first layout on an empty file.
func toV1(tx *bbolt.Tx) error {
	for _, name := range [][]byte{
		BucketMeta, BucketObjects, BucketBlobs, BucketChunks, BucketVariants,
		BucketPeers, BucketLog, BucketUploads, BucketStaging,
	} {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return err
		}
	}
	return nil
}
