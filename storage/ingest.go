package storage

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"sync"

	"go.etcd.io/bbolt"
)

// ingest streams content into a new chunk set, committing several chunks
// per write transaction: one bbolt commit (two fsyncs) per chunk is slow,
// and a bounded queue keeps memory flat whatever the size.
//
// Three things run at once, each on its own goroutine: the caller reads
// the next bytes from the network, a hashPipe hashes the ones before, and
// a commit writes the queued chunks to bbolt. A commit takes every chunk
// queued when it starts (at least a batch), so when the disk falls behind
// the next commit is larger rather than the reader kept waiting. The
// caller waits only while maxQueued bytes are queued behind a running
// commit: memory stays at that plus the committing chunks, whatever the
// size.
//
// Why the hash has a goroutine of its own: into a bare Go handler on this
// project's 2-core machine, a 64 MiB curl -T took 44 ms to read, 67-72 ms
// to read and hash on one goroutine, and 54-63 ms with the hash apart;
// with reading and hashing on one goroutine, the commits waited for the
// reader (docs/benchmarks.md, "Uploads, the latest changes").
type ingest struct {
	db *DB
	hp *hashPipe // nil when the caller hashes

	// set is 0 until the first commit allocates it. While a commit runs
	// only it touches set; wait hands it back.
	set uint64
	off int64 // bytes queued so far, committed or not

	// prepare returns the commit of the chunks starting at start whose last
	// is the hash pipe's chunk number seq. It runs on the committing
	// goroutine. Nil means flush into in.set.
	prepare func(chunks [][]byte, start, seq int64) func() error

	mu      sync.Mutex
	idle    sync.Cond // broadcast when a commit ends
	queue   [][]byte  // chunks not yet committing, starting at off - queued
	queued  int
	seq     int64    // the hash pipe's number of the last queued chunk
	free    [][]byte // buffers to reuse: committed and hashed
	running bool     // a commit goroutine runs
	err     error    // the first commit's failure
}

// maxQueued bounds the bytes queued while a commit runs: a batch and a
// half. A slow fdatasync (this project's virtual disk takes 3 ms for 8 MiB
// one minute and 10 the next) then lets the next commit grow to 12 MiB,
// fewer syncs for the same bytes, where a bound of one batch kept every
// commit at 8 MiB and the reader waiting. Servers alternated over 30
// rounds of 64 MiB PUTs while dd+fsync took 50.9 ms: median 103.2 ->
// 97.1 ms, upper quartile 127.1 -> 100.0; while it took 42.9 ms: no
// difference (docs/benchmarks.md, "Uploads: bodies read in bulk").
func (db *DB) maxQueued() int { return db.batch + db.batch/2 }

func (db *DB) newIngest() *ingest {
	in := &ingest{db: db}
	in.idle.L = &in.mu
	return in
}

// hashed starts hashing what is queued on a goroutine of its own with h.
// Call before the first add; close the pipe (closeHash) when done.
func (in *ingest) hashed(h hash.Hash, keepStates bool) {
	in.hp = newHashPipe(h, keepStates)
}

// closeHash waits for the hash pipe to hash everything queued and stops
// it. It may be called more than once.
func (in *ingest) closeHash() {
	if in.hp != nil {
		in.hp.close()
	}
}

// buffer returns a chunk-size buffer. Buffers come from a pool shared by
// all writers: a small Put then costs no fresh chunk-size allocation.
func (in *ingest) buffer() []byte {
	in.mu.Lock()
	if n := len(in.free); n > 0 {
		b := in.free[n-1]
		in.free = in.free[:n-1]
		in.mu.Unlock()
		return b[:cap(b)]
	}
	in.mu.Unlock()
	if p, ok := in.db.bufs.Get().(*[]byte); ok {
		return *p
	}
	return make([]byte, in.db.chunkSize)
}

// release returns every buffer to the pool; bbolt holds no reference to
// them once the transaction that wrote them has ended. No commit may be
// running (wait first) and the hash pipe must be closed.
func (in *ingest) release() {
	in.closeHash()
	for _, b := range append(in.free, in.queue...) {
		b = b[:cap(b)]
		in.db.bufs.Put(&b)
	}
	in.free, in.queue, in.queued = nil, nil, 0
}

// readAll reads r to its end into chunks and returns the size and digest.
// max bounds the size when positive.
func (in *ingest) readAll(ctx context.Context, r io.Reader, max int64) (int64, [32]byte, error) {
	h := sha256.New()
	in.hashed(h, false)
	defer in.closeHash()
	var size int64
	var sum [32]byte
	if r == nil {
		r = bytes.NewReader(nil)
	}
	for {
		if err := ctx.Err(); err != nil {
			return 0, sum, err
		}
		buf := in.buffer()
		n, err := io.ReadFull(r, buf)
		if n > 0 {
			size += int64(n)
			if max > 0 && size > max {
				in.recycle(buf)
				return 0, sum, fmt.Errorf("over %d bytes: %w", max, ErrTooLarge)
			}
			if err := in.add(buf[:n]); err != nil {
				return 0, sum, err
			}
		} else {
			in.recycle(buf)
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			return 0, sum, fmt.Errorf("read body: %w", err)
		}
	}
	in.closeHash()
	h.Sum(sum[:0])
	return size, sum, nil
}

// recycle keeps a buffer that was not queued for reuse.
func (in *ingest) recycle(b []byte) {
	in.mu.Lock()
	in.free = append(in.free, b)
	in.mu.Unlock()
}

// add queues a chunk, which the hash pipe (if any) hashes meanwhile. A
// full batch starts a commit if none runs; the caller waits only while
// maxQueued bytes are queued behind a running commit.
func (in *ingest) add(chunk []byte) error {
	var seq int64
	if in.hp != nil {
		seq = in.hp.write(chunk)
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	in.queue = append(in.queue, chunk)
	in.queued += len(chunk)
	in.seq = seq
	in.off += int64(len(chunk))
	for in.running && in.err == nil && in.queued >= in.db.maxQueued() {
		in.idle.Wait()
	}
	if in.err != nil {
		return in.err
	}
	if !in.running && in.queued >= in.db.batch {
		in.running = true
		go in.commitQueued()
	}
	return nil
}

// commitQueued commits what is queued, and again while a batch's worth
// has queued meanwhile.
func (in *ingest) commitQueued() {
	in.mu.Lock()
	for {
		chunks, start, seq := in.queue, in.off-int64(in.queued), in.seq
		in.queue, in.queued = nil, 0
		in.idle.Broadcast() // room in the queue
		in.mu.Unlock()

		var commit func() error
		if in.prepare != nil {
			commit = in.prepare(chunks, start, seq)
		} else {
			commit = func() error { return in.flush(chunks, start) }
		}
		err := commit()
		if in.hp != nil {
			// Buffers go back to the reader only once hashed too.
			in.hp.wait(seq)
		}

		in.mu.Lock()
		in.free = append(in.free, chunks...)
		if err != nil && in.err == nil {
			in.err = err
		}
		if in.err != nil || in.queued < in.db.batch {
			in.running = false
			in.idle.Broadcast()
			in.mu.Unlock()
			return
		}
	}
}

// queueTail queues a last chunk without starting a commit; no commit may
// be running (wait first).
func (in *ingest) queueTail(c []byte) {
	if in.hp != nil {
		in.hp.write(c)
	}
	in.mu.Lock()
	in.queue = append(in.queue, c)
	in.queued += len(c)
	in.off += int64(len(c))
	in.mu.Unlock()
}

// queuedChunks returns the chunks not committed and where they start; no
// commit may be running (wait first).
func (in *ingest) queuedChunks() ([][]byte, int64) {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.queue, in.off - int64(in.queued)
}

// wait waits for the running commit, if any, and returns the first
// commit error. After it no commit runs until the next add.
func (in *ingest) wait() error {
	in.mu.Lock()
	defer in.mu.Unlock()
	for in.running {
		in.idle.Wait()
	}
	return in.err
}

// writeChunks puts chunks starting at offset start, allocating the set
// (and marking it staged, so a crash before finish frees it at the next
// Open) on first use.
func (in *ingest) writeChunks(tx *bbolt.Tx, chunks [][]byte, start int64, stage bool) error {
	bucket := tx.Bucket(bucketChunks)
	if in.set == 0 {
		set, err := bucket.NextSequence()
		if err != nil {
			return err
		}
		in.set = set
		if stage {
			ts := seqKey(uint64(in.db.now().UnixNano()))
			if err := tx.Bucket(bucketStaging).Put(seqKey(set), ts); err != nil {
				return err
			}
		}
	}
	off := start
	for _, c := range chunks {
		if err := putChunk(bucket, chunkKey(in.set, off), c); err != nil {
			return err
		}
		off += int64(len(c))
	}
	return nil
}

// flush commits one batch; it runs on the commit goroutine.
func (in *ingest) flush(chunks [][]byte, start int64) error {
	prev := in.set
	err := in.db.updateBulk(func(tx *bbolt.Tx) error {
		in.set = prev
		return in.writeChunks(tx, chunks, start, true)
	})
	if err != nil {
		// A set allocated by the rolled-back transaction is not ours.
		in.set = prev
	}
	return err
}

// finish commits the remaining chunks and runs fn in the same transaction,
// unstaging the set. It returns the first error of any batch.
func (in *ingest) finish(fn func(tx *bbolt.Tx, set uint64) error) error {
	if err := in.wait(); err != nil {
		in.abort()
		return err
	}
	set := in.set
	start := in.off - int64(in.queued)
	err := in.db.updateBulk(func(tx *bbolt.Tx) error {
		in.set = set // a retry after rollback must not keep a set from it
		if err := in.writeChunks(tx, in.queue, start, false); err != nil {
			return err
		}
		if err := tx.Bucket(bucketStaging).Delete(seqKey(in.set)); err != nil {
			return err
		}
		return fn(tx, in.set)
	})
	if err != nil {
		in.set = set
		in.abort()
		return err
	}
	in.release()
	return nil
}

// abort waits for a commit still running, then frees what earlier
// commits stored.
func (in *ingest) abort() {
	_ = in.wait() // its error is the reason for aborting or moot
	in.release()
	if in.set == 0 {
		return
	}
	set := in.set
	err := in.db.update(func(tx *bbolt.Tx) error {
		if err := deleteSet(tx, set); err != nil {
			return err
		}
		return tx.Bucket(bucketStaging).Delete(seqKey(set))
	})
	if err != nil && !errors.Is(err, ErrClosed) {
		in.db.logger.Warn("abort put", "set", set, "err", err)
	}
}
