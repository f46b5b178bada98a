package migrations

import (
	"encoding/binary"
	"fmt"

	"go.etcd.io/bbolt"
)

// Variant record layout as of v1 (and still in v2), pinned here: key is
// the source blob's raw SHA-256 (32 bytes) and the width (4 bytes, big
// endian); value starts with
//
//	flags   1 byte (bit 0: precomputed)
//	height  4 bytes big endian
//	created 8 bytes big endian, unix nanoseconds
//
// followed by the content type and the bytes, which v2 does not need.
const (
	variantKeyLen    = 32 + 4
	variantHeaderLen = 1 + 4 + 8
	flagPrecomputed  = 1
)

// DynVariantKey is the v2 index key of a dynamic variant: creation time
// first so that a cursor walks the oldest variants first.
func DynVariantKey(created int64, variantKey []byte) []byte {
	k := make([]byte, 0, 8+len(variantKey))
	k = binary.BigEndian.AppendUint64(k, uint64(created))
	return append(k, variantKey...)
}

// toV2 builds the dynamic-variant index and its counter from the variants
// a v1 file holds.
func toV2(tx *bbolt.Tx) error {
	idx, err := tx.CreateBucketIfNotExists(BucketDynVariants)
	if err != nil {
		return err
	}
	vars := tx.Bucket(BucketVariants)
	if vars == nil {
		return fmt.Errorf("v1 file lacks bucket %q", BucketVariants)
	}
	var n uint64
	err = vars.ForEach(func(k, v []byte) error {
		if len(k) != variantKeyLen || len(v) < variantHeaderLen {
			return fmt.Errorf("variant record %x: short", k)
		}
		if v[0]&flagPrecomputed != 0 {
			return nil
		}
		created := int64(binary.BigEndian.Uint64(v[5:13]))
		n++
		return idx.Put(DynVariantKey(created, k), nil)
	})
	if err != nil {
		return err
	}
	return tx.Bucket(BucketMeta).Put(KeyDynVariants, binary.BigEndian.AppendUint64(nil, n))
}
