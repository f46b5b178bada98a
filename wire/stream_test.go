package wire

import (
	"bufio"
	"bytes"
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
