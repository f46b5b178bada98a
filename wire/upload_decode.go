package wire

import (
	"bufio"
	"errors"
	"fmt"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"
)

// decodeUploadRequest parses a Protobuf UploadRequest into m as
// proto.Unmarshal does, except that m.Content points into b instead of
// holding a copy. proto.Unmarshal allocates and copies every bytes field,
// and for a stream of 4 MiB upload messages that copy, its allocation and
// the collections it causes were a large share of the server's work; the
// caller copies the content into its chunk buffers anyway. m is reset
// first. FuzzDecodeUploadRequest checks it against proto.Unmarshal.
func decodeUploadRequest(b []byte, m *UploadRequest) error {
	m.Reset()
	return decodeUploadFields(b, m)
}

// decodeUploadFields parses the fields in b into m as decodeUploadRequest
// does, without resetting m first: a later field replaces an earlier
// one, map entries add up.
func decodeUploadFields(b []byte, m *UploadRequest) error {
	for len(b) > 0 {
		num, typ, n := consumeTag(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		if !knownUploadField(num, typ) {
			// Unknown fields, and known ones with another wire type, are
			// skipped as proto.Unmarshal skips them (it keeps them as
			// unknown fields, which nothing here reads).
			n = protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return protowire.ParseError(n)
			}
			b = b[n:]
			continue
		}
		if typ == protowire.VarintType {
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return protowire.ParseError(n)
			}
			b = b[n:]
			switch num {
			case 5:
				m.Offset = int64(v)
			case 8:
				m.Final = protowire.DecodeBool(v)
			case 9:
				m.TotalSize = int64(v)
			}
			continue
		}
		v, n := protowire.ConsumeBytes(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		var err error
		switch num {
		case 1:
			m.UploadId, err = utf8String(v)
		case 2:
			m.Key, err = utf8String(v)
		case 3:
			m.ContentType, err = utf8String(v)
		case 4:
			err = decodeMetadataEntry(v, m)
		case 6:
			m.Content = v
		case 7:
			m.Sha256, err = utf8String(v)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// consumeTag is protowire.ConsumeTag refusing field numbers past the
// largest valid one, as proto.Unmarshal does.
func consumeTag(b []byte) (protowire.Number, protowire.Type, int) {
	num, typ, n := protowire.ConsumeTag(b)
	if n >= 0 && num > protowire.MaxValidNumber {
		return 0, 0, -1 // the code of protowire's own parse errors
	}
	return num, typ, n
}

func knownUploadField(num protowire.Number, typ protowire.Type) bool {
	switch num {
	case 5, 8, 9:
		return typ == protowire.VarintType
	case 1, 2, 3, 4, 6, 7:
		return typ == protowire.BytesType
	}
	return false
}

var errInvalidUTF8 = errors.New("string field contains invalid UTF-8")

func utf8String(b []byte) (string, error) {
	if !utf8.Valid(b) {
		return "", errInvalidUTF8
	}
	return string(b), nil
}

// decodeMetadataEntry adds one map entry (key = 1, value = 2; either may be
// missing and then is empty).
func decodeMetadataEntry(b []byte, m *UploadRequest) error {
	var key, val string
	for len(b) > 0 {
		num, typ, n := consumeTag(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		if (num == 1 || num == 2) && typ == protowire.BytesType {
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return protowire.ParseError(n)
			}
			b = b[n:]
			s, err := utf8String(v)
			if err != nil {
				return err
			}
			if num == 1 {
				key = s
			} else {
				val = s
			}
			continue
		}
		n = protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
	}
	if m.Metadata == nil {
		m.Metadata = make(map[string]string)
	}
	m.Metadata[key] = val
	return nil
}

// UploadReader reads the messages of an upload stream (see stream.go for
// the framing).
type UploadReader struct {
	enc     Encoding
	r       *bufio.Reader
	limit   int64
	buf     []byte
	content []byte // JSON: the decoded content of the last message

	// For NextHead (upload_head.go): streamMin is the smallest Protobuf
	// message whose content the caller reads itself, body the content
	// left to read, tail the bytes of the fields after it.
	streamMin int64
	body      contentReader
	tail      int64
}

// NewUploadReader reads a stream in enc from r; no message may be over
// limit bytes.
func NewUploadReader(enc Encoding, r *bufio.Reader, limit int64) *UploadReader {
	return &UploadReader{enc: enc, r: r, limit: limit, streamMin: streamContentMin}
}

// whole reads the rest of a Protobuf message of size bytes into m.
func (u *UploadReader) whole(size int64, m *UploadRequest) error {
	var err error
	if u.buf, err = readFull(u.r, int(size), u.buf[:0]); err != nil {
		return err
	}
	if err := decodeUploadRequest(u.buf, m); err != nil {
		return fmt.Errorf("%w: protobuf: %v", ErrMalformed, err)
	}
	return nil
}

// Next reads the next message into m. m.Content may point into the
// reader's buffer: it is valid until the next call. Next returns io.EOF at
// the end of the stream.
func (u *UploadReader) Next(m *UploadRequest) error {
	if err := u.between(); err != nil {
		return err
	}
	var err error
	switch u.enc {
	case Protobuf:
		size, err := readFrameSize(u.r, u.limit)
		if err != nil {
			return err
		}
		return u.whole(size, m)
	case JSON:
		if u.buf, err = readLine(u.r, u.limit, u.buf[:0]); err != nil {
			return err
		}
		u.content, err = decodeUploadJSON(u.buf, m, u.content)
		return err
	}
	return ErrUnknownEncoding
}
