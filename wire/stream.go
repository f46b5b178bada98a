package wire

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// Streams: several messages in one body. Protobuf frames each message with
// its length as a varint, as protodelim does, so any Protobuf library can
// write and read them; JSON puts one message per line (NDJSON).
//
// A stream lets a client send a large file as many messages without
// waiting for an answer to each, so that the network and the server's disk
// work at the same time. UploadReader reads such streams: it returns
// io.EOF at their end and ErrTooLarge for a message over its limit.

// ErrTruncated is returned when a stream ends inside a message.
var ErrTruncated = errors.New("stream ends inside a message")

// AppendDelimited appends m, framed for a stream, to b.
func (e Encoding) AppendDelimited(b []byte, m proto.Message) ([]byte, error) {
	switch e {
	case Protobuf:
		size := proto.Size(m)
		b = binary.AppendUvarint(b, uint64(size))
		return proto.MarshalOptions{}.MarshalAppend(b, m)
	case JSON:
		if u, ok := m.(*UploadRequest); ok && len(u.Content) > 0 {
			return appendUploadJSON(b, u)
		}
		msg, err := e.Marshal(m)
		if err != nil {
			return b, err
		}
		// encoding/json escapes every newline inside strings, so a
		// message is always one line.
		return append(append(b, msg...), '\n'), nil
	}
	return b, ErrUnknownEncoding
}

// readFrameSize reads a message's length prefix and checks it against
// limit.
func readFrameSize(r *bufio.Reader, limit int64) (int64, error) {
	size, err := readUvarint(r)
	if err != nil {
		return 0, err
	}
	if size > uint64(limit) {
		return 0, fmt.Errorf("%w: message of %d bytes, at most %d", ErrTooLarge, size, limit)
	}
	return int64(size), nil
}

// readFull reads the next n bytes of a message into b, growing it if need
// be.
func readFull(r *bufio.Reader, n int, b []byte) ([]byte, error) {
	if cap(b) < n {
		b = make([]byte, n)
	}
	b = b[:n]
	if _, err := io.ReadFull(r, b); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || err == io.EOF {
			return b, ErrTruncated
		}
		return b, fmt.Errorf("read message: %w", err)
	}
	return b, nil
}

// readUvarint reads a message's length prefix. io.EOF means the stream
// ended cleanly before it; a read error is passed on as it is, so that a
// caller can tell a timeout from bad input.
func readUvarint(r *bufio.Reader) (uint64, error) {
	var x uint64
	for i := 0; i < binary.MaxVarintLen64; i++ {
		c, err := r.ReadByte()
		switch {
		case err == io.EOF && i == 0:
			return 0, io.EOF
		case err == io.EOF:
			return 0, ErrTruncated
		case err != nil:
			return 0, fmt.Errorf("read message: %w", err)
		}
		if i == binary.MaxVarintLen64-1 && c > 1 {
			break
		}
		x |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			return x, nil
		}
	}
	return 0, fmt.Errorf("%w: stream: message length overflows 64 bits", ErrMalformed)
}

// readLine reads up to the next newline, skipping blank lines. A last line
// without its newline is taken whole.
func readLine(r *bufio.Reader, limit int64, b []byte) ([]byte, error) {
	for {
		b = b[:0]
		for {
			frag, err := r.ReadSlice('\n')
			if int64(len(b)+len(frag)) > limit+1 { // +1: the newline
				return b, fmt.Errorf("%w: message over %d bytes", ErrTooLarge, limit)
			}
			b = append(b, frag...)
			if err == bufio.ErrBufferFull {
				continue
			}
			if err == io.EOF {
				if len(bytes.TrimSpace(b)) == 0 {
					return b, io.EOF
				}
				break
			}
			if err != nil {
				return b, fmt.Errorf("read message: %w", err)
			}
			break
		}
		if len(bytes.TrimSpace(b)) > 0 {
			return b, nil
		}
	}
}

// UploadFrame returns the Protobuf stream framing of m with contentLen
// bytes of content, split around the content: head is the length prefix
// and every field before the content, tail every field after it. A client
// sends head, the content straight from its file, then tail, and never
// copies the content into a message. m.Content is ignored. The bytes are
// those AppendDelimited writes for m with that content: fields go in
// field-number order, content being field 6.
func UploadFrame(m *UploadRequest, contentLen int) (head, tail []byte, err error) {
	before := &UploadRequest{
		UploadId: m.UploadId, Key: m.Key, ContentType: m.ContentType,
		Metadata: m.Metadata, Offset: m.Offset,
	}
	after := &UploadRequest{Sha256: m.Sha256, Final: m.Final, TotalSize: m.TotalSize}
	opts := proto.MarshalOptions{Deterministic: true}
	pre, err := opts.Marshal(before)
	if err != nil {
		return nil, nil, err
	}
	if tail, err = opts.Marshal(after); err != nil {
		return nil, nil, err
	}
	size := len(pre) + len(tail)
	if contentLen > 0 {
		size += protowire.SizeTag(6) + protowire.SizeBytes(contentLen)
	}
	head = binary.AppendUvarint(make([]byte, 0, len(pre)+16), uint64(size))
	head = append(head, pre...)
	if contentLen > 0 {
		head = protowire.AppendTag(head, 6, protowire.BytesType)
		head = protowire.AppendVarint(head, uint64(contentLen))
	}
	return head, tail, nil
}
