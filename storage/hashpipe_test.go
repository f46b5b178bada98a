package storage

import (
	"bytes"
	"crypto/sha256"
	"encoding"
	"testing"
)

// The pipe's sum and its kept states equal those of hashing the same
// chunks in order on one goroutine, chunks larger than a hash slice
// included.
func TestHashPipe_SameAsInline(t *testing.T) {
	chunks := [][]byte{
		bytes.Repeat([]byte{1}, 10),
		bytes.Repeat([]byte{2}, 3*hashSlice+17),
		{},
		bytes.Repeat([]byte{3}, hashSlice),
	}
	p := newHashPipe(sha256.New(), true)
	inline := sha256.New()
	var want [][]byte
	for i, c := range chunks {
		if n := p.write(c); n != int64(i+1) {
			t.Fatalf("write returned %d, want %d", n, i+1)
		}
		inline.Write(c)
		st, err := inline.(encoding.BinaryMarshaler).MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, st)
	}
	// Before any chunk the state is the hash's own. Later states may be
	// taken in order, skipping some; each drops the older, and none is
	// past the last chunk hashed.
	initial, hashed, err := p.stateUpTo(0)
	if err != nil || hashed != 0 {
		t.Fatalf("stateUpTo(0) = %d bytes, %v", hashed, err)
	}
	if empty, _ := sha256.New().(encoding.BinaryMarshaler).MarshalBinary(); !bytes.Equal(initial, empty) {
		t.Fatal("state before any chunk differs from a new hash's")
	}
	p.wait(4)
	var size int64
	for i, n := range []int64{2, 4} {
		got, hashed, err := p.stateUpTo(n)
		if err != nil {
			t.Fatalf("stateUpTo(%d): %v", n, err)
		}
		if !bytes.Equal(got, want[n-1]) {
			t.Fatalf("state after chunk %d differs from hashing inline", n)
		}
		size += int64(len(chunks[2*i]) + len(chunks[2*i+1]))
		if hashed != size {
			t.Fatalf("stateUpTo(%d) covers %d bytes, want %d", n, hashed, size)
		}
	}
	if _, _, err := p.stateUpTo(1); err == nil {
		t.Fatal("stateUpTo(1) after stateUpTo(4) found a state that should be dropped")
	}
	p.close()
	p.close() // a second close is harmless
	if got, want := p.h.Sum(nil), inline.Sum(nil); !bytes.Equal(got, want) {
		t.Fatalf("sum %x, want %x", got, want)
	}
}
