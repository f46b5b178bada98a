package wire

import (
	"bytes"
	"crypto/rand"
	"errors"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

func TestCodec_RoundTrip(t *testing.T) {
	content := make([]byte, 1000)
	rand.Read(content)
	in := &UploadRequest{Key: "images/cat.jpg", ContentType: "image/jpeg", Metadata: map[string]string{"a": "b"},
		Offset: 42, Content: content, Sha256: "ab", Final: true, TotalSize: 1 << 40}
	for _, enc := range []Encoding{JSON, Protobuf} {
		t.Run(string(enc), func(t *testing.T) {
			b, err := enc.Marshal(in)
			if err != nil {
				t.Fatal(err)
			}
			var out UploadRequest
			if err := enc.Unmarshal(b, &out); err != nil {
				t.Fatal(err)
			}
			if !proto.Equal(in, &out) {
				t.Fatalf("round trip changed the message: %v", &out)
			}
		})
	}
}

// The JSON this package writes must be what protojson reads, field names
// included, so that other clients can use any protobuf library.
func TestCodec_JSONIsProtoJSON(t *testing.T) {
	in := &LogEntry{Origin: "s1", Seq: 7, Key: "k", Version: 1 << 50, Sha256: "00", ContentType: "text/plain",
		Metadata: map[string]string{"x": "y"}, ModifiedUnixNano: 123}
	b, err := JSON.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(`"content_type"`)) || !bytes.Contains(b, []byte(`"modified_unix_nano"`)) {
		t.Fatalf("JSON lacks the schema's field names: %s", b)
	}
	var out LogEntry
	if err := protojson.Unmarshal(b, &out); err != nil {
		t.Fatalf("protojson cannot read it: %v", err)
	}
	if !proto.Equal(in, &out) {
		t.Fatalf("protojson read %v, want %v", &out, in)
	}
	pj, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var back LogEntry
	if err := JSON.Unmarshal(pj, &back); err == nil && !proto.Equal(in, &back) {
		t.Fatalf("read protojson as %v", &back)
	}
}

func TestCodec_Malformed(t *testing.T) {
	tests := []struct {
		name string
		enc  Encoding
		body string
	}{
		{"JSONSyntax", JSON, `{"key":`},
		{"JSONUnknownField", JSON, `{"kee":"x"}`},
		{"JSONTrailing", JSON, `{"key":"x"} {}`},
		{"JSONWrongType", JSON, `{"offset":"abc"}`},
		{"JSONBadBase64", JSON, `{"content":"!!!"}`},
		{"ProtobufGarbage", Protobuf, "\xff\xff\xff\xff"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var m UploadRequest
			if err := tc.enc.Unmarshal([]byte(tc.body), &m); !errors.Is(err, ErrMalformed) {
				t.Fatalf("Unmarshal(%q)=%v, want ErrMalformed", tc.body, err)
			}
		})
	}
}

func TestParseEncoding(t *testing.T) {
	for in, want := range map[string]Encoding{"json": JSON, "JSON": JSON, "protobuf": Protobuf, "proto": Protobuf} {
		if got, err := ParseEncoding(in); err != nil || got != want {
			t.Fatalf("ParseEncoding(%q)=%v,%v, want %v", in, got, err, want)
		}
	}
	if _, err := ParseEncoding("xml"); !errors.Is(err, ErrUnknownEncoding) {
		t.Fatalf("ParseEncoding(xml)=%v, want ErrUnknownEncoding", err)
	}
	if _, err := FromContentType("text/xml"); !errors.Is(err, ErrUnknownEncoding) {
		t.Fatalf("FromContentType(text/xml)=%v", err)
	}
	if e, err := FromContentType("application/json; charset=utf-8"); err != nil || e != JSON {
		t.Fatalf("FromContentType(json)=%v,%v", e, err)
	}
}

func FuzzUnmarshalUploadRequest(f *testing.F) {
	for _, enc := range []Encoding{JSON, Protobuf} {
		b, _ := enc.Marshal(&UploadRequest{Key: "a/b", Content: []byte("hello"), Final: true, Sha256: "x"})
		f.Add(b)
	}
	f.Add([]byte(`{"key":"x","content":"aGVsbG8=","final":true}`))
	f.Add([]byte{0x0a, 0x03, 'a', 'b'})
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, enc := range []Encoding{JSON, Protobuf} {
			var m UploadRequest
			if err := enc.Unmarshal(b, &m); err != nil {
				continue
			}
			// What decodes must encode and decode to the same message.
			again, err := enc.Marshal(&m)
			if err != nil {
				t.Fatalf("%s: re-encode: %v", enc, err)
			}
			var m2 UploadRequest
			if err := enc.Unmarshal(again, &m2); err != nil || !proto.Equal(&m, &m2) {
				t.Fatalf("%s: re-decode: %v", enc, err)
			}
		}
	})
}

func BenchmarkCodec(b *testing.B) {
	content := make([]byte, 4<<20)
	rand.Read(content)
	msg := &UploadRequest{Key: "k", Content: content, Final: true}
	codecs := []struct {
		name      string
		marshal   func() ([]byte, error)
		unmarshal func([]byte) error
	}{
		{"Protobuf", func() ([]byte, error) { return Protobuf.Marshal(msg) }, func(x []byte) error { return Protobuf.Unmarshal(x, &UploadRequest{}) }},
		{"EncodingJSON", func() ([]byte, error) { return JSON.Marshal(msg) }, func(x []byte) error { return JSON.Unmarshal(x, &UploadRequest{}) }},
		{"ProtoJSON", func() ([]byte, error) { return protojson.MarshalOptions{UseProtoNames: true}.Marshal(msg) },
			func(x []byte) error { return protojson.Unmarshal(x, &UploadRequest{}) }},
	}
	for _, c := range codecs {
		enc, _ := c.marshal()
		b.Run(c.name+"/Marshal", func(b *testing.B) {
			b.SetBytes(int64(len(content)))
			for b.Loop() {
				if _, err := c.marshal(); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(c.name+"/Unmarshal", func(b *testing.B) {
			b.SetBytes(int64(len(content)))
			for b.Loop() {
				if err := c.unmarshal(enc); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
