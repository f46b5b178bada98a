package storage

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"time"

	"go.etcd.io/bbolt"

	"metacdn/migrations"
)

// VariantRef names one stored variant.
type VariantRef struct {
	SourceSHA256 string
	Width        int
	Created      time.Time
}

// PutVariant stores (or replaces) the variant of a stored blob at
// v.Width. A dynamic variant (Precomputed false) joins the index that
// DynamicVariants walks. ErrNotFound if the source blob is not stored: a
// variant must not outlive its source.
func (db *DB) PutVariant(v Variant) error {
	sum, err := parseSHA(v.SourceSHA256)
	if err != nil {
		return fmt.Errorf("put variant: %w", err)
	}
	if v.Width <= 0 {
		return fmt.Errorf("put variant: width %d", v.Width)
	}
	created := db.now().UnixNano()
	err = db.update(func(tx *bbolt.Tx) error {
		if tx.Bucket(bucketBlobs).Get(sum[:]) == nil {
			return fmt.Errorf("source blob: %w", ErrNotFound)
		}
		key := variantKey(sum, v.Width)
		if err := deleteVariant(tx, key); err != nil {
			return err
		}
		if err := tx.Bucket(bucketVariants).Put(key, encodeVariant(v, created)); err != nil {
			return err
		}
		if v.Precomputed {
			return nil
		}
		if err := tx.Bucket(bucketDynVariants).Put(migrations.DynVariantKey(created, key), nil); err != nil {
			return err
		}
		return addDynCount(tx, 1)
	})
	if err != nil {
		return fmt.Errorf("put variant %s/%d: %w", v.SourceSHA256, v.Width, err)
	}
	return nil
}

func addDynCount(tx *bbolt.Tx, delta int64) error {
	meta := tx.Bucket(bucketMeta)
	n := int64(beUint64(meta.Get(migrations.KeyDynVariants))) + delta
	return meta.Put(migrations.KeyDynVariants, binary.BigEndian.AppendUint64(nil, uint64(max(n, 0))))
}

// deleteVariant deletes a variant record and its index entry, if present.
func deleteVariant(tx *bbolt.Tx, key []byte) error {
	vars := tx.Bucket(bucketVariants)
	v := vars.Get(key)
	if v == nil {
		return nil
	}
	h, err := decodeVariant(v)
	if err != nil {
		return err
	}
	if !h.Precomputed {
		if err := tx.Bucket(bucketDynVariants).Delete(migrations.DynVariantKey(h.Created, key)); err != nil {
			return err
		}
		if err := addDynCount(tx, -1); err != nil {
			return err
		}
	}
	return vars.Delete(key)
}

// deleteVariants deletes every variant of a blob.
func deleteVariants(tx *bbolt.Tx, sum [32]byte) error {
	c := tx.Bucket(bucketVariants).Cursor()
	var keys [][]byte
	for k, _ := c.Seek(sum[:]); k != nil && bytes.HasPrefix(k, sum[:]); k, _ = c.Next() {
		keys = append(keys, bytes.Clone(k))
	}
	for _, k := range keys {
		if err := deleteVariant(tx, k); err != nil {
			return err
		}
	}
	return nil
}

// GetVariant returns a stored variant with its bytes.
func (db *DB) GetVariant(sha string, width int) (Variant, error) {
	sum, err := parseSHA(sha)
	if err != nil {
		return Variant{}, fmt.Errorf("get variant: %w", ErrNotFound)
	}
	var out Variant
	err = db.view(func(tx *bbolt.Tx) error {
		v := tx.Bucket(bucketVariants).Get(variantKey(sum, width))
		if v == nil {
			return ErrNotFound
		}
		h, err := decodeVariant(v)
		if err != nil {
			return err
		}
		out = Variant{
			SourceSHA256: sha, Width: width, Height: h.Height,
			ContentType: h.ContentType, Precomputed: h.Precomputed,
			Data: bytes.Clone(h.data),
		}
		return nil
	})
	if err != nil {
		return Variant{}, fmt.Errorf("get variant %s/%d: %w", sha, width, err)
	}
	return out, nil
}

// DeleteVariant deletes a variant; ErrNotFound if there is none.
func (db *DB) DeleteVariant(sha string, width int) error {
	sum, err := parseSHA(sha)
	if err != nil {
		return fmt.Errorf("delete variant: %w", ErrNotFound)
	}
	err = db.update(func(tx *bbolt.Tx) error {
		key := variantKey(sum, width)
		if tx.Bucket(bucketVariants).Get(key) == nil {
			return ErrNotFound
		}
		return deleteVariant(tx, key)
	})
	if err != nil {
		return fmt.Errorf("delete variant %s/%d: %w", sha, width, err)
	}
	return nil
}

// Variants lists a blob's variants sorted by width (none: an empty list).
func (db *DB) Variants(sha string) ([]VariantInfo, error) {
	sum, err := parseSHA(sha)
	if err != nil {
		return nil, nil
	}
	var out []VariantInfo
	err = db.view(func(tx *bbolt.Tx) error {
		c := tx.Bucket(bucketVariants).Cursor()
		for k, v := c.Seek(sum[:]); k != nil && bytes.HasPrefix(k, sum[:]); k, v = c.Next() {
			h, err := decodeVariant(v)
			if err != nil {
				return err
			}
			out = append(out, VariantInfo{
				Width: int(binary.BigEndian.Uint32(k[32:])), Height: h.Height,
				Bytes: int64(len(h.data)), ContentType: h.ContentType, Precomputed: h.Precomputed,
			})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("variants %s: %w", sha, err)
	}
	return out, nil
}

// CountDynamicVariants returns how many dynamic (made on request)
// variants are stored, from a counter: no scan.
func (db *DB) CountDynamicVariants() (int, error) {
	var n uint64
	err := db.view(func(tx *bbolt.Tx) error {
		n = beUint64(tx.Bucket(bucketMeta).Get(migrations.KeyDynVariants))
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("count dynamic variants: %w", err)
	}
	return int(n), nil
}

// DynamicVariants lists up to limit dynamic variants, oldest first, so
// that a cap can evict the oldest with DeleteVariant. limit <= 0 means
// DefaultListLimit.
func (db *DB) DynamicVariants(limit int) ([]VariantRef, error) {
	if limit <= 0 {
		limit = DefaultListLimit
	}
	var out []VariantRef
	err := db.view(func(tx *bbolt.Tx) error {
		c := tx.Bucket(bucketDynVariants).Cursor()
		for k, _ := c.First(); k != nil && len(out) < limit; k, _ = c.Next() {
			if len(k) != 8+36 {
				return fmt.Errorf("dynamic variant index key %x: %w", k, errShortRecord)
			}
			var sum [32]byte
			copy(sum[:], k[8:40])
			out = append(out, VariantRef{
				SourceSHA256: hexSum(sum),
				Width:        int(binary.BigEndian.Uint32(k[40:])),
				Created:      fromUnixNano(int64(beUint64(k))),
			})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("dynamic variants: %w", err)
	}
	return out, nil
}
