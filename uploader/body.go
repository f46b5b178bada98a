package uploader

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"strings"
	"sync"

	"metacdn/wire"
)

// streamBody is the body of a streamed upload: the framed messages of a
// file from an offset, produced as the transport reads. Protobuf messages
// are written around the content (wire.UploadFrame), which is read from
// the file straight into the transport's buffer; JSON messages, whose
// content is base64, are built whole, one at a time. Either way the client
// holds at most one chunk.
type streamBody struct {
	enc   wire.Encoding
	f     UploadFile
	h     hash.Hash // of the file up to off, when hash is nil
	hash  *fileHash // the whole file's, hashed apart; nil to hash in h
	id    string
	off   int64 // file offset of the next content byte
	chunk int64
	sent  func(int64) // called with off when a message has gone

	head, tail []byte // framing of the current message not yet read
	left       int64  // its content bytes not yet read from the file
	final      bool   // the current message is the last one
	pending    bool   // the current message has not been reported sent
	frame      []byte // JSON: the current message
	buf        []byte // JSON: its content
	err        error  // why Read failed, for the caller to report

	// closed is closed by Close. The transport may go on reading a body
	// after the request failed, on a goroutine of its own, until it
	// closes it; a resumed stream must not touch the file before then.
	closed    chan struct{}
	closeOnce sync.Once
}

func (s *streamBody) Close() error {
	s.closeOnce.Do(func() { close(s.closed) })
	return nil
}

// shaPlaceholder stands for the digest while the final message's size is
// computed: it has the digest's length.
var shaPlaceholder = strings.Repeat("0", 64)

func (s *streamBody) Read(p []byte) (int, error) {
	for {
		switch {
		case len(s.head) > 0:
			n := copy(p, s.head)
			s.head = s.head[n:]
			return n, nil
		case s.left > 0:
			return s.readContent(p)
		case len(s.tail) > 0:
			n := copy(p, s.tail)
			s.tail = s.tail[n:]
			return n, nil
		case s.pending:
			s.pending = false
			s.sent(s.off)
		case s.final:
			return 0, io.EOF
		default:
			if err := s.next(); err != nil {
				s.err = err
				return 0, err
			}
		}
	}
}

// readContent reads content from the file into p.
func (s *streamBody) readContent(p []byte) (int, error) {
	n, err := io.ReadFull(s.f.Body, p[:min(int64(len(p)), s.left)])
	if s.hash == nil {
		s.h.Write(p[:n])
	}
	return n, s.contentSent(int64(n), err)
}

// fileContent returns the file and how many content bytes of the current
// message are next, when they may go from the file to the socket without
// passing through the stream (sendfile): the file is an *os.File and is
// hashed apart. Otherwise it returns nil.
func (s *streamBody) fileContent() (*os.File, int64) {
	f, ok := s.f.Body.(*os.File)
	if !ok || s.hash == nil || len(s.head) > 0 || s.left == 0 {
		return nil, 0
	}
	return f, s.left
}

// contentSent accounts for n content bytes gone from the file, and err
// from reading them.
func (s *streamBody) contentSent(n int64, err error) error {
	s.off += n
	s.left -= n
	if err != nil {
		s.err = fmt.Errorf("read %s: %w", s.f.Key, err)
		return s.err
	}
	if s.left == 0 && s.final {
		// The digest is known only now; its field has the placeholder's
		// size, which the length prefix already counted.
		sum, err := s.digest()
		if err != nil {
			s.err = err
			return err
		}
		_, tail, err := wire.UploadFrame(s.message(0, sum), 0)
		if err != nil || len(tail) != len(s.tail) {
			s.err = errors.New("final message changed size")
			return s.err
		}
		s.tail = tail
	}
	return nil
}

// next starts the message at s.off.
func (s *streamBody) next() error {
	n := min(s.chunk, s.f.Size-s.off)
	s.final = s.off+n >= s.f.Size
	s.pending = true
	if s.enc == wire.Protobuf {
		var err error
		s.head, s.tail, err = wire.UploadFrame(s.message(s.off, s.shaField()), int(n))
		s.left = n
		return err
	}
	if int64(cap(s.buf)) < n {
		s.buf = make([]byte, n)
	}
	content := s.buf[:n]
	if _, err := io.ReadFull(s.f.Body, content); err != nil {
		return fmt.Errorf("read %s: %w", s.f.Key, err)
	}
	if s.hash == nil {
		s.h.Write(content)
	}
	m := s.message(s.off, "")
	m.Content = content
	if s.final {
		sum, err := s.digest()
		if err != nil {
			return err
		}
		m.Sha256 = sum
	}
	s.off += n
	var err error
	s.frame, err = s.enc.AppendDelimited(s.frame[:0], m)
	s.head = s.frame
	return err
}

// message is the current message without its content; sha goes in only
// when it is the final one.
func (s *streamBody) message(off int64, sha string) *wire.UploadRequest {
	m := &wire.UploadRequest{UploadId: s.id, Offset: off, Final: s.final}
	if s.final {
		m.Sha256 = sha
	}
	return m
}

// shaField is what the final message's sha256 field will hold, or a
// stand-in of the same length.
func (s *streamBody) shaField() string {
	if s.f.SHA256 != "" {
		return s.f.SHA256
	}
	return shaPlaceholder
}

// digest is the final message's sha256: the caller's, which the server
// checks, or the hash of the file.
func (s *streamBody) digest() (string, error) {
	if s.f.SHA256 != "" {
		return s.f.SHA256, nil
	}
	if s.hash != nil {
		return s.hash.wait()
	}
	return hex.EncodeToString(s.h.Sum(nil)), nil
}

// fileHash hashes a file from its start on a goroutine of its own, reading
// it with ReadAt while the stream reads it in order: hashing and sending
// then use two cores instead of taking turns, and a resumed stream need
// not hash the part already sent again.
type fileHash struct {
	cancel context.CancelFunc
	done   chan struct{}
	sum    string
	err    error
}

func hashFile(ctx context.Context, name string, r io.ReaderAt, size int64) *fileHash {
	ctx, cancel := context.WithCancel(ctx)
	fh := &fileHash{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(fh.done)
		h := sha256.New()
		buf := make([]byte, 1<<20)
		for off := int64(0); off < size; {
			if err := ctx.Err(); err != nil {
				fh.err = err
				return
			}
			n, err := r.ReadAt(buf[:min(int64(len(buf)), size-off)], off)
			h.Write(buf[:n])
			off += int64(n)
			if err != nil && !(errors.Is(err, io.EOF) && off == size) {
				fh.err = fmt.Errorf("hash %s at %d of %d bytes: %w", name, off, size, err)
				return
			}
		}
		fh.sum = hex.EncodeToString(h.Sum(nil))
	}()
	return fh
}

// wait returns the file's digest once hashed.
func (fh *fileHash) wait() (string, error) {
	<-fh.done
	return fh.sum, fh.err
}

// stop ends the hashing, done or not, and waits for its goroutine.
func (fh *fileHash) stop() {
	fh.cancel()
	<-fh.done
}

// protobufLength is the body's length in Protobuf, so the request needs
// no chunked encoding.
func (s *streamBody) protobufLength() (int64, error) {
	var total int64
	for off := s.off; ; {
		n := min(s.chunk, s.f.Size-off)
		final := off+n >= s.f.Size
		m := &wire.UploadRequest{UploadId: s.id, Offset: off, Final: final}
		if final {
			m.Sha256 = s.shaField()
		}
		head, tail, err := wire.UploadFrame(m, int(n))
		if err != nil {
			return 0, err
		}
		total += int64(len(head)) + n + int64(len(tail))
		off += n
		if final {
			return total, nil
		}
	}
}
