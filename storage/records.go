package storage

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"

	"metacdn/wire"
)

// Objects, log entries and peers are stored as the wire protobuf messages
// (key, origin and seq left out where the bbolt key already holds them):
// protobuf is compact for these sparse records, tolerates added fields
// without a migration, and is already what the rest of the system speaks.

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromUnixNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

func encodeObject(o Object) ([]byte, error) {
	return proto.Marshal(&wire.Object{
		Size:             o.Size,
		Sha256:           o.SHA256,
		ContentType:      o.ContentType,
		Metadata:         o.Meta,
		Version:          o.Version,
		Origin:           o.Origin,
		Deleted:          o.Deleted,
		ModifiedUnixNano: unixNano(o.Modified),
	})
}

func decodeObject(key, v []byte) (Object, error) {
	var m wire.Object
	if err := proto.Unmarshal(v, &m); err != nil {
		return Object{}, fmt.Errorf("decode object %q: %w", key, err)
	}
	return Object{
		Key:         string(key),
		Size:        m.Size,
		SHA256:      m.Sha256,
		ContentType: m.ContentType,
		Meta:        m.Metadata,
		Version:     m.Version,
		Origin:      m.Origin,
		Deleted:     m.Deleted,
		Modified:    fromUnixNano(m.ModifiedUnixNano),
	}, nil
}

func encodeLogEntry(e LogEntry) ([]byte, error) {
	return proto.Marshal(&wire.LogEntry{
		Key:              e.Key,
		Version:          e.Version,
		Sha256:           e.SHA256,
		Deleted:          e.Deleted,
		Size:             e.Size,
		ContentType:      e.ContentType,
		Metadata:         e.Meta,
		ModifiedUnixNano: unixNano(e.Modified),
	})
}

func decodeLogEntry(origin string, seqKey, v []byte) (LogEntry, error) {
	var m wire.LogEntry
	if err := proto.Unmarshal(v, &m); err != nil {
		return LogEntry{}, fmt.Errorf("decode log entry %s/%x: %w", origin, seqKey, err)
	}
	return LogEntry{
		Origin:      origin,
		Seq:         binary.BigEndian.Uint64(seqKey),
		Key:         m.Key,
		Version:     m.Version,
		SHA256:      m.Sha256,
		Deleted:     m.Deleted,
		Size:        m.Size,
		ContentType: m.ContentType,
		Meta:        m.Metadata,
		Modified:    fromUnixNano(m.ModifiedUnixNano),
	}, nil
}

func entryOf(o Object, seq uint64) LogEntry {
	return LogEntry{
		Origin: o.Origin, Seq: seq, Key: o.Key, Version: o.Version,
		SHA256: o.SHA256, Deleted: o.Deleted, Size: o.Size,
		ContentType: o.ContentType, Meta: o.Meta, Modified: o.Modified,
	}
}

func objectOf(e LogEntry) Object {
	return Object{
		Key: e.Key, Size: e.Size, SHA256: e.SHA256, ContentType: e.ContentType,
		Meta: e.Meta, Version: e.Version, Origin: e.Origin, Deleted: e.Deleted,
		Modified: e.Modified,
	}
}

func encodePeer(p Peer) ([]byte, error) {
	return proto.Marshal(&wire.Peer{
		Url:      p.URL,
		Provider: p.Provider,
		Version:  p.Version,
		Removed:  p.Removed,
	})
}

func decodePeer(id, v []byte) (Peer, error) {
	var m wire.Peer
	if err := proto.Unmarshal(v, &m); err != nil {
		return Peer{}, fmt.Errorf("decode peer %q: %w", id, err)
	}
	return Peer{ID: string(id), URL: m.Url, Provider: m.Provider, Version: m.Version, Removed: m.Removed}, nil
}

// seqKey is a log key: seq big endian, so cursor order is seq order.
func seqKey(seq uint64) []byte { return binary.BigEndian.AppendUint64(nil, seq) }

// parseSHA turns a lowercase hex SHA-256 into its 32 raw bytes, the form
// used in bbolt keys (half the size of hex).
func parseSHA(s string) ([32]byte, error) {
	var sum [32]byte
	if len(s) != 64 {
		return sum, fmt.Errorf("sha-256 %q: want 64 hex digits: %w", s, ErrDigestMismatch)
	}
	if _, err := hex.Decode(sum[:], []byte(s)); err != nil {
		return sum, fmt.Errorf("sha-256 %q: %w", s, ErrDigestMismatch)
	}
	return sum, nil
}

// blobRecord is the value of a blob under its raw SHA-256 in the blobs
// bucket. The bytes live in the chunks bucket under set|offset: a set is a
// number never reused, allocated before the digest is known (content
// streams in before it can be hashed), so chunks need no renaming once it
// is, and a reader of a freed blob finds nothing rather than other bytes.
type blobRecord struct {
	Size    int64
	Set     uint64
	Refs    uint64 // live objects naming this blob
	Created int64  // unix nanoseconds; unreferenced blobs are swept by age
}

const blobRecordLen = 32

func (r blobRecord) encode() []byte {
	b := make([]byte, 0, blobRecordLen)
	b = binary.BigEndian.AppendUint64(b, uint64(r.Size))
	b = binary.BigEndian.AppendUint64(b, r.Set)
	b = binary.BigEndian.AppendUint64(b, r.Refs)
	return binary.BigEndian.AppendUint64(b, uint64(r.Created))
}

func decodeBlobRecord(v []byte) (blobRecord, error) {
	if len(v) != blobRecordLen {
		return blobRecord{}, fmt.Errorf("blob record of %d bytes: %w", len(v), errShortRecord)
	}
	return blobRecord{
		Size:    int64(binary.BigEndian.Uint64(v[0:])),
		Set:     binary.BigEndian.Uint64(v[8:]),
		Refs:    binary.BigEndian.Uint64(v[16:]),
		Created: int64(binary.BigEndian.Uint64(v[24:])),
	}, nil
}

// chunkKey addresses the chunk of a set that starts at off; big endian so
// a cursor Seek to set|x lands on or just past the chunk holding x.
func chunkKey(set uint64, off int64) []byte {
	k := make([]byte, 16)
	binary.BigEndian.PutUint64(k, set)
	binary.BigEndian.PutUint64(k[8:], uint64(off))
	return k
}

// variantKey is the source's raw SHA-256 and the width, big endian, so a
// blob's variants are adjacent and sorted by width.
func variantKey(sha [32]byte, width int) []byte {
	k := make([]byte, 0, 36)
	k = append(k, sha[:]...)
	return binary.BigEndian.AppendUint32(k, uint32(width))
}

// Variant value: flags (bit 0 precomputed), height, created, then the
// content type and the bytes. The fixed header comes first so Variants
// reads the few bytes it needs; migrations pins the same layout.
const (
	variantHeaderLen = 1 + 4 + 8
	flagPrecomputed  = 1
)

func encodeVariant(v Variant, created int64) []byte {
	b := make([]byte, 0, variantHeaderLen+2+len(v.ContentType)+len(v.Data)+binary.MaxVarintLen64)
	var flags byte
	if v.Precomputed {
		flags |= flagPrecomputed
	}
	b = append(b, flags)
	b = binary.BigEndian.AppendUint32(b, uint32(v.Height))
	b = binary.BigEndian.AppendUint64(b, uint64(created))
	b = appendString(b, v.ContentType)
	return append(b, v.Data...)
}

// variantHeader decodes everything but the bytes; data is v's tail (in
// bbolt's memory: copy before the transaction ends).
type variantHeader struct {
	Precomputed bool
	Height      int
	Created     int64
	ContentType string
	data        []byte
}

func decodeVariant(v []byte) (variantHeader, error) {
	if len(v) < variantHeaderLen {
		return variantHeader{}, fmt.Errorf("variant record: %w", errShortRecord)
	}
	h := variantHeader{
		Precomputed: v[0]&flagPrecomputed != 0,
		Height:      int(binary.BigEndian.Uint32(v[1:])),
		Created:     int64(binary.BigEndian.Uint64(v[5:])),
	}
	d := decoder{b: v[variantHeaderLen:]}
	h.ContentType = d.string()
	if d.err != nil {
		return variantHeader{}, fmt.Errorf("variant record: %w", d.err)
	}
	h.data = d.b
	return h, nil
}

// uploadRecord is an upload session's persisted state.
type uploadRecord struct {
	Key         string
	ContentType string
	Meta        map[string]string
	Received    int64
	TotalSize   int64
	Started     int64 // unix nanoseconds
	Touched     int64 // unix nanoseconds of the last append: expiry is by idleness
	Set         uint64
	HashState   []byte // sha256 state, encoding.BinaryMarshaler form
	TailOff     int64  // offset of the last chunk written
	TailLen     int64
	// HashedTo is the offset HashState has hashed up to. A batch may
	// commit chunks its hash has not reached yet (see UploadWriter), so
	// it may be less than Received; resuming hashes the stored bytes in
	// between (sessionHash).
	HashedTo int64
}

func (r uploadRecord) encode() []byte {
	b := make([]byte, 0, 64+len(r.Key)+len(r.ContentType)+len(r.HashState))
	b = append(b, 2) // record format: 1 had no HashedTo
	b = appendString(b, r.Key)
	b = appendString(b, r.ContentType)
	b = appendMap(b, r.Meta)
	b = binary.AppendVarint(b, r.Received)
	b = binary.AppendVarint(b, r.TotalSize)
	b = binary.AppendVarint(b, r.Started)
	b = binary.AppendVarint(b, r.Touched)
	b = binary.AppendUvarint(b, r.Set)
	b = appendBytes(b, r.HashState)
	b = binary.AppendVarint(b, r.TailOff)
	b = binary.AppendVarint(b, r.TailLen)
	return binary.AppendVarint(b, r.HashedTo)
}

func decodeUploadRecord(v []byte) (uploadRecord, error) {
	if len(v) == 0 || (v[0] != 1 && v[0] != 2) {
		return uploadRecord{}, fmt.Errorf("upload record: unknown format")
	}
	d := decoder{b: v[1:]}
	r := uploadRecord{
		Key:         d.string(),
		ContentType: d.string(),
		Meta:        d.stringMap(),
		Received:    d.varint(),
		TotalSize:   d.varint(),
		Started:     d.varint(),
		Touched:     d.varint(),
		Set:         d.uvarint(),
		HashState:   d.bytes(),
		TailOff:     d.varint(),
		TailLen:     d.varint(),
	}
	if v[0] == 1 {
		// Format 1 stored the state after every byte received.
		r.HashedTo = r.Received
	} else {
		r.HashedTo = d.varint()
	}
	if d.err != nil {
		return uploadRecord{}, fmt.Errorf("upload record: %w", d.err)
	}
	return r, nil
}
