package wire

import (
	"bytes"
	"encoding/json"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// FuzzDecodeUploadJSON checks the JSON upload decoder against
// protojson.Unmarshal: the same messages, the same refusals.
func FuzzDecodeUploadJSON(f *testing.F) {
	for _, m := range []*UploadRequest{
		{Key: "a/b", Content: []byte("hello, world"), Final: true, Sha256: "x", Offset: 12, TotalSize: 1 << 40},
		{UploadId: "u", Metadata: map[string]string{"content": "not the content", "c": ""}, Content: bytes.Repeat([]byte{0xfb, 0xff}, 50)},
		{Key: "empty"},
	} {
		b, _ := json.Marshal(m)
		f.Add(b)
		b, _ = protojson.Marshal(m)
		f.Add(b)
	}
	for _, s := range []string{
		`{"content":"aGVsbG8"}`,                   // no padding
		`{"content":"-_-_"}`,                      // URL-safe
		`{"content":"aGVs\nbG8="}`,                // a newline base64 would skip
		`{"content":"aGVs\rbG8="}`,                // a carriage return too
		`{"content":"aGVs\u0062G8="}`,             // an escape
		`{"content":"aGVsbG8=","content":"aGk="}`, // twice
		`{"cont\u0065nt":"aGk="}`,                 // an escaped key
		`{"content":"aGk=","contentType":"x/y"}`,  // the JSON name of another field
		`{"content":"aGk=", "final": true, "metadata": {"k": ["x"]}}`,
		`{"content":"aGk="} trailing`,
		`{"content":null}`,
		`{"content":"a"}`,
		`{"metadata":{"content":"x"},"content":"aGk="}`,
		`  {"content" : "aGk=" }  `,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var want, got UploadRequest
		wantErr := protojson.Unmarshal(b, &want)
		_, gotErr := decodeUploadJSON(b, &got, nil)
		if (wantErr == nil) != (gotErr == nil) {
			t.Fatalf("%q: protojson: %v, decodeUploadJSON: %v", b, wantErr, gotErr)
		}
		if wantErr == nil && !proto.Equal(&want, &got) {
			t.Fatalf("%q: protojson: %v\ndecodeUploadJSON: %v", b, &want, &got)
		}
	})
}

// The decoder reuses its content buffer from one message to the next.
func TestDecodeUploadJSON_ReusesBuffer(t *testing.T) {
	var m UploadRequest
	buf, err := decodeUploadJSON([]byte(`{"content":"aGVsbG8sIHdvcmxk"}`), &m, nil)
	if err != nil || string(m.Content) != "hello, world" {
		t.Fatalf("%q, %v", m.Content, err)
	}
	first := &buf[:1][0]
	if _, err := decodeUploadJSON([]byte(`{"content":"aGk="}`), &m, buf); err != nil || string(m.Content) != "hi" {
		t.Fatalf("%q, %v", m.Content, err)
	}
	if &m.Content[0] != first {
		t.Fatal("the second message's content was not decoded into the same buffer")
	}
}

// A JSON upload line carries the same message as json.Marshal's, in one
// line, and the server's decoder reads it.
func TestAppendUploadJSON(t *testing.T) {
	for _, m := range []*UploadRequest{
		{Content: []byte("hello, world")},
		{UploadId: "u1", Offset: 4 << 20, Content: bytes.Repeat([]byte{0, 0xff, 7}, 1000), Final: true, Sha256: "ab12", Metadata: map[string]string{"k": "v\nw"}},
	} {
		line, err := JSON.AppendDelimited([]byte("prefix"), m)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(line, []byte("prefix")) || bytes.IndexByte(line, '\n') != len(line)-1 {
			t.Fatalf("not one line after the prefix: %q", line)
		}
		msg := line[len("prefix") : len(line)-1]
		var viaProtojson, viaDecoder UploadRequest
		if err := protojson.Unmarshal(msg, &viaProtojson); err != nil {
			t.Fatalf("protojson: %v", err)
		}
		if _, err := decodeUploadJSON(msg, &viaDecoder, nil); err != nil {
			t.Fatalf("decodeUploadJSON: %v", err)
		}
		if !proto.Equal(&viaProtojson, m) || !proto.Equal(&viaDecoder, m) {
			t.Fatalf("sent %v, read back %v and %v", m, &viaProtojson, &viaDecoder)
		}
	}
}
