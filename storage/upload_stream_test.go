package storage

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"go.etcd.io/bbolt"
)

// streamDB has small chunks and batches, so a few KiB make several
// background commits.
func streamDB(t *testing.T) *testDB {
	t.Helper()
	db := mustOpenDBOpts(t, Options{ChunkSize: 1000})
	db.batch = 3000
	return db
}

func TestUploadWriter_Finish(t *testing.T) {
	db := streamDB(t)
	data := randBytes(3, 10_500)
	u, err := db.BeginUpload("s/file", "application/zip", map[string]string{"a": "b"}, int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	// A session that already holds a small tail: the stream grows it.
	if _, err := db.AppendUpload(u.ID, 0, data[:17]); err != nil {
		t.Fatal(err)
	}
	w, err := db.AppendStream(context.Background(), u.ID)
	if err != nil {
		t.Fatalf("AppendStream: %v", err)
	}
	defer w.Close()
	if w.Offset() != 17 {
		t.Fatalf("Offset=%d, want 17", w.Offset())
	}
	for off := 17; off < len(data); {
		n := min(777, len(data)-off)
		if _, err := w.Write(data[off : off+n]); err != nil {
			t.Fatalf("Write at %d: %v", off, err)
		}
		off += n
	}
	// Batches commit in the background while writing: the session grows
	// before the end, by whole batches only.
	var mid Upload
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		if mid, err = db.GetUpload(u.ID); err != nil {
			t.Fatal(err)
		}
		if mid.Received > 17 || time.Now().After(deadline) {
			break
		}
	}
	if mid.Received <= 17 || mid.Received >= int64(len(data)) {
		t.Fatalf("received %d while streaming, want some batches committed", mid.Received)
	}
	obj, err := w.Finish(shaHex(data))
	if err != nil {
		t.Fatalf("Finish: %v", err)
	}
	if obj.Size != int64(len(data)) || obj.SHA256 != shaHex(data) || obj.Meta["a"] != "b" || obj.ContentType != "application/zip" {
		t.Fatalf("object %+v", obj)
	}
	if got := db.mustRead("s/file"); !bytes.Equal(got, data) {
		t.Fatal("content differs")
	}
	if _, err := db.GetUpload(u.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("session after Finish: %v, want ErrNotFound", err)
	}
}

func TestUploadWriter_ResumeAfterBreak(t *testing.T) {
	db := streamDB(t)
	data := randBytes(4, 9000)
	u, err := db.BeginUpload("s/resume", "", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	w, err := db.AppendStream(context.Background(), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data[:6500]); err != nil {
		t.Fatal(err)
	}
	// The stream breaks: what the batches committed stays, the rest goes.
	w.Close()
	got, err := db.GetUpload(u.ID)
	if err != nil {
		t.Fatal(err)
	}
	// A commit starts once a batch's worth is queued and takes every
	// whole chunk queued.
	if got.Received < 3000 || got.Received > 6000 || got.Received%1000 != 0 {
		t.Fatalf("received %d after a break, want whole chunks from a batch to all", got.Received)
	}
	db.reopen()
	w, err = db.AppendStream(context.Background(), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, err := w.Write(data[got.Received:]); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Finish(shaHex(data)); err != nil {
		t.Fatalf("Finish after resume: %v", err)
	}
	if !bytes.Equal(db.mustRead("s/resume"), data) {
		t.Fatal("content differs after resume")
	}
}

// A batch may commit chunks its hash has not reached; the session then
// stores an older hash state, and every way of going on hashes the stored
// bytes in between first. The lag is made here by storing the state of a
// shorter prefix, from none of the bytes to part of a chunk.
func TestUploadWriter_ResumeHashBehind(t *testing.T) {
	data := randBytes(6, 9000)
	for _, hashedTo := range []int64{0, 1500, 4000} {
		for _, how := range []string{"stream", "append", "finish"} {
			t.Run(fmt.Sprintf("%s from %d", how, hashedTo), func(t *testing.T) {
				db := streamDB(t)
				u, err := db.BeginUpload("s/behind", "", nil, 0)
				if err != nil {
					t.Fatal(err)
				}
				w, err := db.AppendStream(context.Background(), u.ID)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := w.Write(data[:4000]); err != nil {
					t.Fatal(err)
				}
				if _, err := w.Commit(); err != nil {
					t.Fatal(err)
				}
				w.Close()
				db.setHashState(u.ID, data[:hashedTo])
				db.reopen()

				switch how {
				case "stream":
					w, err := db.AppendStream(context.Background(), u.ID)
					if err != nil {
						t.Fatal(err)
					}
					defer w.Close()
					if _, err := w.Write(data[4000:]); err != nil {
						t.Fatal(err)
					}
					if _, err := w.Finish(shaHex(data)); err != nil {
						t.Fatalf("Finish: %v", err)
					}
				case "append":
					if _, err := db.AppendUpload(u.ID, 4000, data[4000:]); err != nil {
						t.Fatal(err)
					}
					if _, err := db.FinishUpload(u.ID, shaHex(data)); err != nil {
						t.Fatalf("FinishUpload: %v", err)
					}
				case "finish":
					data := data[:4000]
					if _, err := db.FinishUpload(u.ID, shaHex(data)); err != nil {
						t.Fatalf("FinishUpload: %v", err)
					}
					if !bytes.Equal(db.mustRead("s/behind"), data) {
						t.Fatal("content differs")
					}
					return
				}
				if !bytes.Equal(db.mustRead("s/behind"), data) {
					t.Fatal("content differs")
				}
			})
		}
	}
	// A state past the bytes received is refused, not trusted.
	db := streamDB(t)
	u, _ := db.BeginUpload("s/ahead", "", nil, 0)
	if _, err := db.AppendUpload(u.ID, 0, data[:100]); err != nil {
		t.Fatal(err)
	}
	db.setHashState(u.ID, data[:200])
	if _, err := db.FinishUpload(u.ID, shaHex(data[:100])); err == nil {
		t.Fatal("FinishUpload with a hash state past the bytes received succeeded")
	}
}

// setHashState stores in session id the hash state of prefix, as a batch
// committed ahead of its hash does.
func (db *testDB) setHashState(id string, prefix []byte) {
	db.tb.Helper()
	h := sha256.New()
	h.Write(prefix)
	state, err := h.(encoding.BinaryMarshaler).MarshalBinary()
	if err != nil {
		db.tb.Fatal(err)
	}
	err = db.bolt.Update(func(tx *bbolt.Tx) error {
		rec, err := getUpload(tx, id)
		if err != nil {
			return err
		}
		rec.HashState, rec.HashedTo = state, int64(len(prefix))
		return tx.Bucket(bucketUploads).Put([]byte(id), rec.encode())
	})
	if err != nil {
		db.tb.Fatal(err)
	}
}

// Content read by ReadContent waits for Accept: a stream that fails
// before it leaves the session as the last batch committed it.
func TestUploadWriter_ReadContent(t *testing.T) {
	data := randBytes(7, 12_000)
	t.Run("accepted", func(t *testing.T) {
		db := streamDB(t)
		u, _ := db.BeginUpload("s/read", "", nil, int64(len(data)))
		w, err := db.AppendStream(context.Background(), u.ID)
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		for off := 0; off < len(data); off += 2500 {
			n := min(2500, len(data)-off)
			if err := w.ReadContent(bytes.NewReader(data[off:off+n]), int64(n)); err != nil {
				t.Fatal(err)
			}
			if err := w.Accept(); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := w.Finish(shaHex(data)); err != nil {
			t.Fatalf("Finish: %v", err)
		}
		if !bytes.Equal(db.mustRead("s/read"), data) {
			t.Fatal("content differs")
		}
	})
	t.Run("never accepted", func(t *testing.T) {
		db := streamDB(t)
		u, _ := db.BeginUpload("s/held", "", nil, 0)
		w, err := db.AppendStream(context.Background(), u.ID)
		if err != nil {
			t.Fatal(err)
		}
		// Nine chunks held: three batches' worth, none of which may commit.
		if err := w.ReadContent(bytes.NewReader(data), 9000); err != nil {
			t.Fatal(err)
		}
		if _, err := w.Finish(shaHex(data[:9000])); err == nil {
			t.Fatal("Finish with content not accepted succeeded")
		}
		w.Close()
		if got, err := db.GetUpload(u.ID); err != nil || got.Received != 0 {
			t.Fatalf("session after a stream that never accepted: %+v, %v; want nothing received", got, err)
		}
	})
	t.Run("short", func(t *testing.T) {
		db := streamDB(t)
		u, _ := db.BeginUpload("s/short", "", nil, 0)
		w, err := db.AppendStream(context.Background(), u.ID)
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		if err := w.ReadContent(bytes.NewReader(data[:100]), 200); !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("ReadContent of a short reader: %v, want io.ErrUnexpectedEOF", err)
		}
		if _, err := w.Write(data[:10]); err == nil {
			t.Fatal("Write after a failed ReadContent succeeded")
		}
	})
}

func TestUploadWriter_Commit(t *testing.T) {
	db := streamDB(t)
	data := randBytes(5, 4200)
	u, _ := db.BeginUpload("s/commit", "", nil, 0)
	w, err := db.AppendStream(context.Background(), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(data[:2100])
	up, err := w.Commit()
	w.Close()
	if err != nil || up.Received != 2100 {
		t.Fatalf("Commit=%+v, %v; want 2100 received", up, err)
	}
	// The hash state committed with it carries on in a plain append.
	if _, err := db.AppendUpload(u.ID, 2100, data[2100:]); err != nil {
		t.Fatal(err)
	}
	if _, err := db.FinishUpload(u.ID, shaHex(data)); err != nil {
		t.Fatalf("FinishUpload: %v", err)
	}
	if !bytes.Equal(db.mustRead("s/commit"), data) {
		t.Fatal("content differs")
	}
}

func TestUploadWriter_Refusals(t *testing.T) {
	db := streamDB(t)
	data := randBytes(6, 5000)
	t.Run("DigestMismatch", func(t *testing.T) {
		u, _ := db.BeginUpload("s/bad", "", nil, 0)
		w, _ := db.AppendStream(context.Background(), u.ID)
		defer w.Close()
		w.Write(data)
		if _, err := w.Finish(shaHex([]byte("other"))); !errors.Is(err, ErrDigestMismatch) {
			t.Fatalf("Finish: %v, want ErrDigestMismatch", err)
		}
		if _, err := db.Get("s/bad"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("object after mismatch: %v", err)
		}
		if _, err := db.GetUpload(u.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("session after mismatch: %v, want dropped", err)
		}
	})
	t.Run("PastDeclaredSize", func(t *testing.T) {
		u, _ := db.BeginUpload("s/big", "", nil, 4000)
		w, _ := db.AppendStream(context.Background(), u.ID)
		defer w.Close()
		if _, err := w.Write(data); !errors.Is(err, ErrTooLarge) {
			t.Fatalf("Write past the declared size: %v, want ErrTooLarge", err)
		}
	})
	t.Run("ShortOfDeclaredSize", func(t *testing.T) {
		u, _ := db.BeginUpload("s/short", "", nil, 6000)
		w, _ := db.AppendStream(context.Background(), u.ID)
		defer w.Close()
		w.Write(data)
		if _, err := w.Finish(shaHex(data)); !errors.Is(err, ErrOffsetMismatch) {
			t.Fatalf("Finish short of the declared size: %v, want ErrOffsetMismatch", err)
		}
	})
	t.Run("ChunkWhileStreaming", func(t *testing.T) {
		// One stream writer at a time holds a session, but a client may
		// still send a chunk by POST /v1/upload meanwhile: the stream's
		// commit then finds the session moved on and is refused.
		u, _ := db.BeginUpload("s/two", "", nil, 0)
		w, _ := db.AppendStream(context.Background(), u.ID)
		defer w.Close()
		if _, err := db.AppendUpload(u.ID, 0, data[:1000]); err != nil {
			t.Fatal(err)
		}
		w.Write(data[:1000])
		if _, err := w.Commit(); !errors.Is(err, ErrOffsetMismatch) {
			t.Fatalf("stream's commit after a chunk: %v, want ErrOffsetMismatch", err)
		}
	})
	t.Run("UnknownSession", func(t *testing.T) {
		if _, err := db.AppendStream(context.Background(), "nope"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("AppendStream: %v, want ErrNotFound", err)
		}
	})
}

// A session stored before HashedTo existed (record format 1) had its hash
// state after every byte received, and reads so.
func TestUploadRecord_Format1(t *testing.T) {
	rec := uploadRecord{Key: "k", Received: 5000, TotalSize: 9000, Set: 3, HashState: []byte("state"), TailOff: 4000, TailLen: 1000, HashedTo: 5000}
	v := rec.encode()
	// Format 2 only appends HashedTo (a varint of 5000: two bytes).
	old := append([]byte{1}, v[1:len(v)-2]...)
	got, err := decodeUploadRecord(old)
	if err != nil {
		t.Fatal(err)
	}
	if got.HashedTo != got.Received || got.Received != 5000 || got.TailLen != 1000 {
		t.Fatalf("format 1 read as %+v", got)
	}
	rec.HashedTo = 1234
	if got, err := decodeUploadRecord(rec.encode()); err != nil || got.HashedTo != 1234 {
		t.Fatalf("format 2: %+v, %v", got, err)
	}
}

// TestUploadWriter_OneWriterPerSession: while a stream's writer is open, a
// second writer and a resuming client's status wait for it. They then see
// every batch the first writer committed, including the one it was
// committing when its stream broke.
func TestUploadWriter_OneWriterPerSession(t *testing.T) {
	db := streamDB(t)
	data := randBytes(5, 9500)
	u, err := db.BeginUpload("s/one", "", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	other, err := db.BeginUpload("s/other", "", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	w1, err := db.AppendStream(context.Background(), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w1.Write(data[:6500]); err != nil {
		t.Fatal(err)
	}

	short, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := db.AppendStream(short, u.ID); !errors.Is(err, ErrSessionBusy) {
		t.Fatalf("second writer while the first is open: %v, want ErrSessionBusy", err)
	}
	if _, err := db.SettledUpload(short, u.ID); !errors.Is(err, ErrSessionBusy) {
		t.Fatalf("settled status while a writer is open: %v, want ErrSessionBusy", err)
	}
	// Another session is not held up.
	wo, err := db.AppendStream(short, other.ID)
	if err != nil {
		t.Fatalf("writer on another session: %v", err)
	}
	wo.Close()

	// A resuming client's status waits for the open writer's last commit.
	type result struct {
		received int64
		err      error
	}
	settled := make(chan result, 1)
	go func() {
		up, err := db.SettledUpload(context.Background(), u.ID)
		settled <- result{up.Received, err}
	}()
	w1.Close()
	first, err := db.GetUpload(u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if first.Received < 3000 {
		t.Fatalf("received %d after the first writer, want its batches", first.Received)
	}
	if s := <-settled; s.err != nil || s.received != first.Received {
		t.Fatalf("settled status %d, %v; want %d, what the first writer left", s.received, s.err, first.Received)
	}

	// So does a second writer.
	w1, err = db.AppendStream(context.Background(), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w1.Write(data[first.Received:]); err != nil {
		t.Fatal(err)
	}
	second := make(chan *UploadWriter, 1)
	go func() {
		w, err := db.AppendStream(context.Background(), u.ID)
		if err != nil {
			t.Error(err)
		}
		second <- w
	}()
	w1.Close()
	after, err := db.GetUpload(u.ID)
	if err != nil {
		t.Fatal(err)
	}
	w2 := <-second
	if w2 == nil {
		t.FailNow()
	}
	defer w2.Close()
	if w2.Offset() != after.Received || after.Received <= first.Received {
		t.Fatalf("second writer starts at %d after the session grew %d -> %d, want where it ended", w2.Offset(), first.Received, after.Received)
	}
	if _, err := w2.Write(data[w2.Offset():]); err != nil {
		t.Fatal(err)
	}
	if _, err := w2.Finish(shaHex(data)); err != nil {
		t.Fatalf("Finish: %v", err)
	}
	if !bytes.Equal(db.mustRead("s/one"), data) {
		t.Fatal("content differs")
	}
}
