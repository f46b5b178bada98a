package node_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"testing"

	"metacdn/node"
	"metacdn/storage"
	"metacdn/uploader"
	"metacdn/wire"
)

func dialRaw(tb testing.TB, n *node.Node) net.Conn {
	tb.Helper()
	c, err := net.Dial("tcp", n.Addr().String())
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

func TestUploader_BothEncodings(t *testing.T) {
	n := startNode(t)
	for _, enc := range []wire.Encoding{wire.JSON, wire.Protobuf} {
		for _, size := range []int{0, 1000, 300_000} {
			t.Run(string(enc)+"/"+strconv.Itoa(size), func(t *testing.T) {
				content := randomBytes(size)
				key := "up/" + string(enc) + "/" + strconv.Itoa(size)
				up := &uploader.Uploader{Server: n.URL(), Encoding: enc, ChunkSize: 64 << 10}
				var progress []int64
				up.Progress = func(s int64) { progress = append(progress, s) }
				obj, err := up.Upload(context.Background(), uploader.UploadFile{Key: key, Size: int64(size),
					Body: bytes.NewReader(content), Meta: map[string]string{"k": "v"}})
				if err != nil {
					t.Fatalf("Upload: %v", err)
				}
				if obj.Sha256 != hexSHA(content) || obj.Size != int64(size) || obj.Metadata["k"] != "v" {
					t.Fatalf("stored %+v", obj)
				}
				if got := do(t, "GET", n.URL()+"/v1/objects/"+key, nil); !bytes.Equal(got.body, content) {
					t.Fatalf("read back %d bytes, want %d", len(got.body), size)
				}
				if wantMsgs := max(1, (size+(64<<10)-1)/(64<<10)); len(progress) != wantMsgs {
					t.Fatalf("%d messages acknowledged, want %d", len(progress), wantMsgs)
				}
			})
		}
	}
}

func TestUploader_DigestRefused(t *testing.T) {
	n := startNode(t)
	up := &uploader.Uploader{Server: n.URL(), Encoding: wire.Protobuf, ChunkSize: 1000}
	content := randomBytes(5000)
	_, err := up.Upload(context.Background(), uploader.UploadFile{Key: "bad", Size: 5000, Body: bytes.NewReader(content),
		SHA256: hexSHA([]byte("something else"))})
	var se *uploader.ServerError
	if !errors.As(err, &se) || se.Status != 400 {
		t.Fatalf("Upload with a wrong digest: %v, want a 400", err)
	}
	errorOf(t, do(t, "GET", n.URL()+"/v1/objects/bad", nil), 404)
}

func post(tb testing.TB, n *node.Node, enc wire.Encoding, m *wire.UploadRequest) (answer, *wire.UploadResponse) {
	tb.Helper()
	b, err := enc.Marshal(m)
	if err != nil {
		tb.Fatal(err)
	}
	a := do(tb, "POST", n.URL()+"/v1/upload", bytes.NewReader(b), "Content-Type", enc.ContentType())
	if a.status >= 300 {
		return a, nil
	}
	var resp wire.UploadResponse
	if err := enc.Unmarshal(a.body, &resp); err != nil {
		tb.Fatalf("answer in %s: %v (%s)", enc, err, a.header.Get("Content-Type"))
	}
	return a, &resp
}

func TestUpload_ChunkOutOfOrder(t *testing.T) {
	n := startNode(t)
	for _, enc := range []wire.Encoding{wire.JSON, wire.Protobuf} {
		t.Run(string(enc), func(t *testing.T) {
			content := randomBytes(3000)
			a, resp := post(t, n, enc, &wire.UploadRequest{Key: "ooo/" + string(enc), Content: content[:1000], TotalSize: 3000})
			if a.status != http.StatusAccepted || resp.UploadId == "" || resp.Received != 1000 {
				t.Fatalf("first chunk: %d %+v", a.status, resp)
			}
			id := resp.UploadId
			// Skip the second chunk: the third one is out of order.
			a, _ = post(t, n, enc, &wire.UploadRequest{UploadId: id, Offset: 2000, Content: content[2000:]})
			errorOf(t, a, http.StatusConflict)
			// The session is unchanged: resume from the server's count.
			st := do(t, "GET", n.URL()+"/v1/upload/"+id, nil)
			if !bytes.Contains(st.body, []byte(`"received":1000`)) {
				t.Fatalf("status after refused chunk: %s", st.body)
			}
			post(t, n, enc, &wire.UploadRequest{UploadId: id, Offset: 1000, Content: content[1000:2000]})
			a, resp = post(t, n, enc, &wire.UploadRequest{UploadId: id, Offset: 2000, Content: content[2000:], Final: true, Sha256: hexSHA(content)})
			if a.status != http.StatusCreated || resp.Object.Sha256 != hexSHA(content) {
				t.Fatalf("final: %d %s", a.status, a.body)
			}
			if got := do(t, "GET", n.URL()+"/v1/objects/ooo/"+string(enc), nil); !bytes.Equal(got.body, content) {
				t.Fatal("content differs")
			}
		})
	}
}

func TestUpload_BadInput(t *testing.T) {
	n := startNode(t)
	good := []byte("hello")
	tests := []struct {
		name   string
		ct     string
		body   []byte
		status int
	}{
		{"MalformedJSON", "application/json", []byte(`{"key": "a", "content": `), 400},
		{"UnknownJSONField", "application/json", []byte(`{"key":"a","final":true,"bogus":1}`), 400},
		{"GarbageProtobuf", "application/x-protobuf", []byte("\xff\xff\xff\xff\x0f"), 400},
		{"UnknownEncoding", "text/xml", []byte("<a/>"), 415},
		{"NoSHA", "application/json", mustJSON(&wire.UploadRequest{Key: "a", Content: good, Final: true}), 400},
		{"WrongSHA", "application/json", mustJSON(&wire.UploadRequest{Key: "a", Content: good, Final: true, Sha256: hexSHA([]byte("x"))}), 400},
		{"BadKey", "application/json", mustJSON(&wire.UploadRequest{Key: "../a", Content: good, Final: true, Sha256: hexSHA(good)}), 400},
		{"UnknownSession", "application/json", mustJSON(&wire.UploadRequest{UploadId: "nope", Offset: 5, Content: good}), 404},
		{"NewSessionNotAtZero", "application/json", mustJSON(&wire.UploadRequest{Key: "a", Offset: 5, Content: good}), 409},
		{"NegativeTotalSize", "application/json", []byte(`{"key":"a","total_size":-1}`), 400},
		{"EmptyMetaName", "application/json", mustJSON(&wire.UploadRequest{Key: "a", Metadata: map[string]string{"": "x"}, Content: good, Final: true, Sha256: hexSHA(good)}), 400},
		{"MetaValueWithCRLF", "application/json", mustJSON(&wire.UploadRequest{Key: "a", Metadata: map[string]string{"a": "c\r\nX-Evil: 1"}, TotalSize: 10}), 400},
		{"MetaNameNotAToken", "application/x-protobuf", mustProtobuf(&wire.UploadRequest{Key: "a", Metadata: map[string]string{"a b": "c"}, TotalSize: 10}), 400},
		{"TooMuchMeta", "application/json", mustJSON(&wire.UploadRequest{Key: "a", Metadata: manyMeta(storage.MaxMetaEntries + 1), Content: good, Final: true, Sha256: hexSHA(good)}), 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			errorOf(t, do(t, "POST", n.URL()+"/v1/upload", bytes.NewReader(tc.body), "Content-Type", tc.ct), tc.status)
		})
	}
	t.Run("TooLarge", func(t *testing.T) {
		small := startNode(t, func(c *node.Config) { c.MaxMessageBytes = 1000 })
		b := mustJSON(&wire.UploadRequest{Key: "a", Content: randomBytes(2000), Final: true, Sha256: hexSHA(good)})
		errorOf(t, do(t, "POST", small.URL()+"/v1/upload", bytes.NewReader(b), "Content-Type", "application/json"), 413)
	})
	if a := do(t, "GET", n.URL()+"/v1/objects", nil); !bytes.Contains(a.body, []byte(`"objects":[]`)) {
		t.Fatalf("bad uploads stored something: %s", a.body)
	}
}

func mustProtobuf(m *wire.UploadRequest) []byte {
	b, err := wire.Protobuf.Marshal(m)
	if err != nil {
		panic(err)
	}
	return b
}

func manyMeta(n int) map[string]string {
	meta := make(map[string]string, n)
	for i := range n {
		meta[fmt.Sprintf("k%d", i)] = "v"
	}
	return meta
}

func mustJSON(m *wire.UploadRequest) []byte {
	b, err := wire.JSON.Marshal(m)
	if err != nil {
		panic(err)
	}
	return b
}
