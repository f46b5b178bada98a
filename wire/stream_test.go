package wire

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
)

func streamOf(t *testing.T, enc Encoding, msgs ...*UploadRequest) []byte {
	t.Helper()
	var b []byte
	for _, m := range msgs {
		var err error
		if b, err = enc.AppendDelimited(b, m); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

func TestUploadReader_RoundTrip(t *testing.T) {
	msgs := []*UploadRequest{
		{UploadId: "u1", Offset: 0, Content: bytes.Repeat([]byte("ab\n"), 50_000)},
		{UploadId: "u1", Offset: 150_000, Content: nil},
		{UploadId: "u1", Offset: 150_000, Content: []byte("end"), Final: true, Sha256: strings.Repeat("f", 64),
			Metadata: map[string]string{"k": "v", "": "empty key"}, Key: "a/b", ContentType: "text/plain", TotalSize: 150_003},
	}
	for _, enc := range []Encoding{Protobuf, JSON} {
		t.Run(string(enc), func(t *testing.T) {
			// A small bufio buffer makes JSON lines span several fills.
			r := NewUploadReader(enc, bufio.NewReaderSize(bytes.NewReader(streamOf(t, enc, msgs...)), 16), 1<<20)
			for i, want := range msgs {
				var got UploadRequest
				if err := r.Next(&got); err != nil {
					t.Fatalf("message %d: %v", i, err)
				}
				if !proto.Equal(&got, want) {
					t.Fatalf("message %d: got %v, want %v", i, &got, want)
				}
			}
			if err := r.Next(&UploadRequest{}); err != io.EOF {
				t.Fatalf("after the last message: %v, want io.EOF", err)
			}
		})
	}
}

func TestUploadReader_Errors(t *testing.T) {
	big := &UploadRequest{Content: make([]byte, 2000)}
	tests := []struct {
		name string
		enc  Encoding
		body []byte
		want error
	}{
		{"ProtobufTruncatedLength", Protobuf, []byte{0x80}, ErrTruncated},
		{"ProtobufTruncatedMessage", Protobuf, []byte{10, 1, 2}, ErrTruncated},
		{"ProtobufTooLarge", Protobuf, streamOfBytes(Protobuf, big), ErrTooLarge},
		{"ProtobufLengthOverflow", Protobuf, bytes.Repeat([]byte{0xff}, 11), ErrMalformed},
		{"ProtobufGarbage", Protobuf, []byte{3, 0xff, 0xff, 0xff}, ErrMalformed},
		{"ProtobufBadUTF8", Protobuf, []byte{3, 0x12, 1, 0xff}, ErrMalformed},
		{"JSONTruncated", JSON, []byte(`{"offset":"0","content":"aGVs`), ErrMalformed},
		{"JSONTooLarge", JSON, streamOfBytes(JSON, big), ErrTooLarge},
		{"JSONUnknownField", JSON, []byte(`{"bogus":1}` + "\n"), ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := NewUploadReader(tc.enc, bufio.NewReader(bytes.NewReader(tc.body)), 1000)
			if err := r.Next(&UploadRequest{}); !errors.Is(err, tc.want) {
				t.Fatalf("Next: %v, want %v", err, tc.want)
			}
		})
	}
}

func streamOfBytes(enc Encoding, m *UploadRequest) []byte {
	b, err := enc.AppendDelimited(nil, m)
	if err != nil {
		panic(err)
	}
	return b
}

// TestUploadFrame checks that head + content + tail is the message
// AppendDelimited writes.
func TestUploadFrame(t *testing.T) {
	for _, m := range []*UploadRequest{
		{UploadId: "id", Offset: 4 << 20, Content: bytes.Repeat([]byte{7}, 300)},
		{UploadId: "id", Offset: 1, Content: []byte("x"), Final: true, Sha256: strings.Repeat("a", 64)},
		{Key: "k", Metadata: map[string]string{"a": "b"}, TotalSize: 9, Content: nil},
	} {
		head, tail, err := UploadFrame(m, len(m.Content))
		if err != nil {
			t.Fatal(err)
		}
		framed := append(append(append([]byte(nil), head...), m.Content...), tail...)
		if want := streamOfBytes(Protobuf, m); !bytes.Equal(framed, want) {
			t.Fatalf("UploadFrame(%v):\n%x\nwant\n%x", m, framed, want)
		}
	}
}

// FuzzDecodeUploadRequest checks the aliasing decoder against
// proto.Unmarshal: the same messages, the same refusals.
func FuzzDecodeUploadRequest(f *testing.F) {
	for _, m := range []*UploadRequest{
		{Key: "a/b", Content: []byte("hello"), Final: true, Sha256: "x", Offset: -1, TotalSize: 1 << 40},
		{UploadId: "u", Metadata: map[string]string{"a": "b", "c": ""}},
	} {
		b, _ := proto.Marshal(m)
		f.Add(b)
	}
	f.Add([]byte{0x22, 0x02, 0x08, 0x01})       // a map entry with a field of the wrong type
	f.Add([]byte{0x28, 0x01, 0x2a, 0x01, 0x00}) // offset, then offset as bytes
	f.Add([]byte{0x0a, 0x01, 0xc0})             // invalid UTF-8
	f.Fuzz(func(t *testing.T, b []byte) {
		var want, got UploadRequest
		wantErr := proto.Unmarshal(b, &want)
		gotErr := decodeUploadRequest(b, &got)
		if (wantErr == nil) != (gotErr == nil) {
			t.Fatalf("proto.Unmarshal: %v, decodeUploadRequest: %v", wantErr, gotErr)
		}
		if wantErr != nil {
			return
		}
		// proto.Unmarshal keeps unknown fields; nothing reads them.
		want.ProtoReflect().SetUnknown(nil)
		if !proto.Equal(&want, &got) {
			t.Fatalf("proto.Unmarshal: %v\ndecodeUploadRequest: %v", &want, &got)
		}
	})
}

// FuzzNextHead checks reading a message's content apart (NextHead,
// Content, EndMessage) against reading it whole (Next): the same message,
// the same refusals, and the stream left at the next message. The one
// difference allowed: a second content field, which NextHead's way
// refuses. A 16-byte buffer makes many contents start past what the
// reader buffers, which NextHead reads whole.
func FuzzNextHead(f *testing.F) {
	for _, m := range []*UploadRequest{
		{UploadId: "u", Offset: 5, Content: bytes.Repeat([]byte("x"), 40), Final: true, Sha256: "ab", TotalSize: 45},
		{Key: "k", Metadata: map[string]string{"a": "b"}, Content: []byte("hi")},
		{Content: []byte("only")},
	} {
		b, _ := proto.Marshal(m)
		f.Add(b, uint16(16))
		f.Add(b, uint16(4096))
	}
	f.Add([]byte{0x32, 0x01, 'a', 0x32, 0x01, 'b'}, uint16(4096))  // content twice
	f.Add([]byte{0x32, 0x05, 'a'}, uint16(4096))                   // content past the message
	f.Add([]byte{0x0a, 0x01, 0xc0, 0x32, 0x01, 'a'}, uint16(4096)) // invalid UTF-8 before the content
	f.Add([]byte{0x32, 0x01, 'a', 0x3a, 0x01, 0xc0}, uint16(4096)) // invalid UTF-8 after it
	f.Fuzz(func(t *testing.T, b []byte, bufSize uint16) {
		next := &UploadRequest{UploadId: "next", Offset: 7}
		stream := binary.AppendUvarint(nil, uint64(len(b)))
		stream = append(stream, b...)
		stream = streamOfBytesTo(stream, Protobuf, next)
		reader := func() *UploadReader {
			r := NewUploadReader(Protobuf, bufio.NewReaderSize(bytes.NewReader(stream), int(bufSize)), 1<<20)
			r.streamMin = 0
			return r
		}
		var want, got UploadRequest
		wantErr := reader().Next(&want)

		r := reader()
		n, gotErr := r.NextHead(&got)
		if gotErr == nil && n >= 0 {
			content, err := io.ReadAll(r.Content())
			if err != nil {
				t.Fatalf("reading the content: %v", err)
			}
			if int64(len(content)) != n {
				t.Fatalf("content of %d bytes, NextHead said %d", len(content), n)
			}
			if gotErr = r.EndMessage(&got); gotErr == nil {
				got.Content = content
			}
		}
		if wantErr == nil && gotErr != nil && strings.Contains(gotErr.Error(), "second content field") {
			return
		}
		if (wantErr == nil) != (gotErr == nil) {
			t.Fatalf("Next: %v, NextHead: %v", wantErr, gotErr)
		}
		if wantErr != nil {
			return
		}
		if len(want.Content) == 0 && len(got.Content) == 0 {
			want.Content, got.Content = nil, nil // nil and empty are one to proto.Equal anyway
		}
		if !proto.Equal(&want, &got) {
			t.Fatalf("Next: %v\nNextHead: %v", &want, &got)
		}
		var after UploadRequest
		if _, err := r.NextHead(&after); err != nil || !proto.Equal(&after, next) {
			t.Fatalf("the message after: %v, %v", &after, err)
		}
	})
}

func streamOfBytesTo(b []byte, enc Encoding, m *UploadRequest) []byte {
	b, err := enc.AppendDelimited(b, m)
	if err != nil {
		panic(err)
	}
	return b
}

// A large message's content is left to the caller; a small one, and JSON,
// come whole. A stream cut inside the content says so.
func TestUploadReader_NextHead(t *testing.T) {
	big := &UploadRequest{UploadId: "u1", Offset: 3, Content: bytes.Repeat([]byte("0123456789"), 20_000),
		Final: true, Sha256: strings.Repeat("e", 64), TotalSize: 200_003}
	small := &UploadRequest{UploadId: "u1", Offset: 200_003, Content: []byte("tail")}
	stream := streamOf(t, Protobuf, big, small)
	r := NewUploadReader(Protobuf, bufio.NewReaderSize(bytes.NewReader(stream), 64<<10), 1<<20)
	var m UploadRequest
	n, err := r.NextHead(&m)
	if err != nil || n != int64(len(big.Content)) {
		t.Fatalf("NextHead = %d, %v; want the content's %d bytes", n, err, len(big.Content))
	}
	if m.UploadId != "u1" || m.Offset != 3 || m.Final {
		t.Fatalf("head %v: want the fields before the content only", &m)
	}
	if err := r.Next(&UploadRequest{}); err == nil {
		t.Fatal("Next inside a message succeeded")
	}
	content, err := io.ReadAll(r.Content())
	if err != nil || !bytes.Equal(content, big.Content) {
		t.Fatalf("content: %d bytes, %v", len(content), err)
	}
	if err := r.EndMessage(&m); err != nil {
		t.Fatal(err)
	}
	m.Content = content
	if !proto.Equal(&m, big) {
		t.Fatalf("message %v, want %v", &m, big)
	}
	if n, err := r.NextHead(&m); err != nil || n != -1 || !proto.Equal(&m, small) {
		t.Fatalf("small message: %d, %v, %v", n, err, &m)
	}

	cut := streamOf(t, Protobuf, big)[:100_000]
	r = NewUploadReader(Protobuf, bufio.NewReaderSize(bytes.NewReader(cut), 64<<10), 1<<20)
	if _, err := r.NextHead(&m); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(r.Content()); !errors.Is(err, ErrTruncated) {
		t.Fatalf("content of a cut stream: %v, want ErrTruncated", err)
	}
}
