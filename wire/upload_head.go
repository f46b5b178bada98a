package wire

import (
	"bufio"
	"errors"
	"fmt"
	"io"

	"google.golang.org/protobuf/encoding/protowire"
)

// streamContentMin is the smallest Protobuf message whose content NextHead
// leaves to the caller: below it, a copy through the message buffer costs
// less than the calls.
const streamContentMin = 64 << 10

// NextHead reads the next message up to its content, so that a caller can
// read a large content straight to where it goes instead of through a
// message buffer and a copy. It returns the content's length n when it
// stopped there: m then holds the fields before the content, Content
// yields its n bytes, and EndMessage reads the fields after it into m. It
// returns -1 when it read the whole message into m, as Next does: JSON
// lines, small messages, and those whose content field does not start
// within the reader's buffer. io.EOF means the stream ended cleanly
// before a message.
func (u *UploadReader) NextHead(m *UploadRequest) (int64, error) {
	if u.enc != Protobuf {
		return -1, u.Next(m)
	}
	if err := u.between(); err != nil {
		return 0, err
	}
	size, err := readFrameSize(u.r, u.limit)
	if err != nil {
		return 0, err
	}
	if size >= u.streamMin {
		n, ok, err := u.headOf(size, m)
		if ok || err != nil {
			return n, err
		}
	}
	return -1, u.whole(size, m)
}

// between fails if the last message NextHead stopped in was not read to
// its end.
func (u *UploadReader) between() error {
	if u.body.n > 0 || u.tail > 0 {
		return errors.New("upload stream: the last message was not read to its end")
	}
	return nil
}

// headOf looks for the content field of a message of size bytes in what
// the reader buffers. If it is there, headOf decodes the fields before it
// into m, consumes them and the content's tag and length, and returns the
// content's length with ok. Otherwise it consumes nothing.
func (u *UploadReader) headOf(size int64, m *UploadRequest) (n int64, ok bool, err error) {
	window, err := u.r.Peek(int(min(size, int64(u.r.Size()))))
	if err != nil {
		if err == io.EOF {
			return 0, false, ErrTruncated
		}
		return 0, false, fmt.Errorf("read message: %w", err)
	}
	for off := 0; off < len(window); {
		num, typ, k := consumeTag(window[off:])
		if k < 0 {
			return 0, false, nil // bad, or cut by the window: Next's way says which
		}
		if num == 6 && typ == protowire.BytesType {
			clen, j := protowire.ConsumeVarint(window[off+k:])
			if j < 0 {
				return 0, false, nil
			}
			head := int64(off + k + j)
			if clen > uint64(size-head) {
				return 0, false, nil // Next's way refuses it
			}
			if err := decodeUploadRequest(window[:off], m); err != nil {
				return 0, false, fmt.Errorf("%w: protobuf: %v", ErrMalformed, err)
			}
			if _, err := u.r.Discard(int(head)); err != nil {
				return 0, false, fmt.Errorf("read message: %w", err)
			}
			u.body = contentReader{r: u.r, n: int64(clen)}
			u.tail = size - head - int64(clen)
			return int64(clen), true, nil
		}
		v := protowire.ConsumeFieldValue(num, typ, window[off+k:])
		if v < 0 {
			return 0, false, nil
		}
		off += k + v
	}
	return 0, false, nil
}

// Content reads the content of the message NextHead stopped in: exactly
// the length it returned, then io.EOF. A stream that ends first gives
// ErrTruncated.
func (u *UploadReader) Content() io.Reader { return &u.body }

// EndMessage reads the fields after the content of the message NextHead
// stopped in into m; the content must have been read. Those fields may
// not hold content again: proto3 would take the last, and the caller has
// the first.
func (u *UploadReader) EndMessage(m *UploadRequest) error {
	if u.body.n > 0 {
		return errors.New("upload stream: content not read")
	}
	tail := u.tail
	u.tail = 0
	var err error
	if u.buf, err = readFull(u.r, int(tail), u.buf[:0]); err != nil {
		return err
	}
	if err := decodeUploadFields(u.buf, m); err != nil {
		return fmt.Errorf("%w: protobuf: %v", ErrMalformed, err)
	}
	if m.Content != nil {
		return fmt.Errorf("%w: protobuf: a second content field in one message", ErrMalformed)
	}
	return nil
}

// contentReader reads the n bytes of a message's content.
type contentReader struct {
	r *bufio.Reader
	n int64
}

func (c *contentReader) Read(p []byte) (int, error) {
	if c.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > c.n {
		p = p[:c.n]
	}
	k, err := c.r.Read(p)
	c.n -= int64(k)
	switch {
	case err == io.EOF && c.n > 0:
		return k, ErrTruncated
	case err == io.EOF:
		err = nil
	case err != nil:
		err = fmt.Errorf("read message: %w", err)
	}
	return k, err
}
