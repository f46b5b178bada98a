package node_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"google.golang.org/protobuf/encoding/protowire"

	"metacdn/node"
	"metacdn/uploader"
	"metacdn/wire"
)

// openSession opens an upload session with a message that carries no
// bytes, as the upload program does before streaming.
func openSession(t *testing.T, n *node.Node, enc wire.Encoding, key string, total int64) string {
	t.Helper()
	a, resp := post(t, n, enc, &wire.UploadRequest{Key: key, TotalSize: total})
	if a.status != http.StatusAccepted || resp.UploadId == "" || resp.Received != 0 {
		t.Fatalf("open session: %d %s", a.status, a.body)
	}
	return resp.UploadId
}

// streamMsgs posts msgs as one stream to session id.
func streamMsgs(t *testing.T, n *node.Node, enc wire.Encoding, id string, msgs ...*wire.UploadRequest) answer {
	t.Helper()
	return do(t, "POST", n.URL()+"/v1/upload/"+id, bytes.NewReader(delimited(t, enc, msgs...)), "Content-Type", enc.ContentType())
}

// delimited is msgs framed one after another, as a stream's body.
func delimited(t *testing.T, enc wire.Encoding, msgs ...*wire.UploadRequest) []byte {
	t.Helper()
	var body []byte
	for _, m := range msgs {
		var err error
		if body, err = enc.AppendDelimited(body, m); err != nil {
			t.Fatal(err)
		}
	}
	return body
}

// chunks cuts content into messages of size bytes for session id, the
// last one final with the digest.
func chunks(id string, content []byte, size int) []*wire.UploadRequest {
	var msgs []*wire.UploadRequest
	for off := 0; off < len(content); off += size {
		end := min(off+size, len(content))
		m := &wire.UploadRequest{UploadId: id, Offset: int64(off), Content: content[off:end]}
		if end == len(content) {
			m.Final, m.Sha256 = true, hexSHA(content)
		}
		msgs = append(msgs, m)
	}
	return msgs
}

func TestUploadStream(t *testing.T) {
	n := startNode(t)
	for _, enc := range []wire.Encoding{wire.JSON, wire.Protobuf} {
		t.Run(string(enc), func(t *testing.T) {
			content := randomBytes(300_000)
			key := "stream/" + string(enc)
			id := openSession(t, n, enc, key, int64(len(content)))
			msgs := chunks(id, content, 64<<10)
			// The first part ends without a final message: 202 with what
			// the server holds, and the next stream carries on from there.
			a := streamMsgs(t, n, enc, id, msgs[:2]...)
			if a.status != http.StatusAccepted {
				t.Fatalf("partial stream: %d %s", a.status, a.body)
			}
			var resp wire.UploadResponse
			if err := enc.Unmarshal(a.body, &resp); err != nil || resp.Received != 128<<10 {
				t.Fatalf("partial stream answered %+v, %v; want 131072 received", &resp, err)
			}
			a = streamMsgs(t, n, enc, id, msgs[2:]...)
			if a.status != http.StatusCreated {
				t.Fatalf("final stream: %d %s", a.status, a.body)
			}
			if err := enc.Unmarshal(a.body, &resp); err != nil || resp.Object.GetSha256() != hexSHA(content) {
				t.Fatalf("final stream answered %+v, %v", &resp, err)
			}
			if got := do(t, "GET", n.URL()+"/v1/objects/"+key, nil); !bytes.Equal(got.body, content) {
				t.Fatal("content differs")
			}
			errorOf(t, do(t, "GET", n.URL()+"/v1/upload/"+id, nil), http.StatusNotFound)
		})
	}
}

func TestUploadStream_BadInput(t *testing.T) {
	n := startNode(t)
	content := randomBytes(10_000)
	pb := wire.Protobuf
	tests := []struct {
		name   string
		send   func(t *testing.T, id string) answer
		status int
	}{
		{"OutOfOrder", func(t *testing.T, id string) answer {
			msgs := chunks(id, content, 1000)
			return streamMsgs(t, n, pb, id, msgs[0], msgs[2])
		}, http.StatusConflict},
		{"WrongDigest", func(t *testing.T, id string) answer {
			msgs := chunks(id, content, 4000)
			msgs[len(msgs)-1].Sha256 = hexSHA([]byte("other"))
			return streamMsgs(t, n, pb, id, msgs...)
		}, http.StatusBadRequest},
		{"NoDigest", func(t *testing.T, id string) answer {
			msgs := chunks(id, content, 4000)
			msgs[len(msgs)-1].Sha256 = ""
			return streamMsgs(t, n, pb, id, msgs...)
		}, http.StatusBadRequest},
		{"AfterFinal", func(t *testing.T, id string) answer {
			msgs := chunks(id, content, 4000)
			return streamMsgs(t, n, pb, id, append(msgs, &wire.UploadRequest{UploadId: id, Offset: 10_000})...)
		}, http.StatusBadRequest},
		{"OtherSession", func(t *testing.T, id string) answer {
			return streamMsgs(t, n, pb, id, &wire.UploadRequest{UploadId: "other", Content: content})
		}, http.StatusBadRequest},
		{"Truncated", func(t *testing.T, id string) answer {
			b, _ := pb.AppendDelimited(nil, &wire.UploadRequest{Content: content, Final: true, Sha256: hexSHA(content)})
			return do(t, "POST", n.URL()+"/v1/upload/"+id, bytes.NewReader(b[:len(b)-10]), "Content-Type", pb.ContentType())
		}, http.StatusBadRequest},
		{"Garbage", func(t *testing.T, id string) answer {
			return do(t, "POST", n.URL()+"/v1/upload/"+id, strings.NewReader("\x05\xff\xff\xff\xff\xff"), "Content-Type", pb.ContentType())
		}, http.StatusBadRequest},
		{"MalformedJSON", func(t *testing.T, id string) answer {
			return do(t, "POST", n.URL()+"/v1/upload/"+id, strings.NewReader(`{"offset":"0","content":`+"\n"), "Content-Type", "application/json")
		}, http.StatusBadRequest},
		{"PastDeclaredSize", func(t *testing.T, id string) answer {
			return streamMsgs(t, n, pb, id, chunks(id, append(content, 1), 4000)...)
		}, http.StatusRequestEntityTooLarge},
		{"UnknownEncoding", func(t *testing.T, id string) answer {
			return do(t, "POST", n.URL()+"/v1/upload/"+id, strings.NewReader("<a/>"), "Content-Type", "text/xml")
		}, http.StatusUnsupportedMediaType},
		{"UnknownSession", func(t *testing.T, id string) answer {
			return streamMsgs(t, n, pb, "nope", chunks("nope", content, 4000)...)
		}, http.StatusNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			key := "bad/" + tc.name
			id := openSession(t, n, pb, key, int64(len(content)))
			errorOf(t, tc.send(t, id), tc.status)
			// Nothing was stored, and the session (if still there) holds
			// nothing past its last committed batch: none here.
			errorOf(t, do(t, "GET", n.URL()+"/v1/objects/"+key, nil), http.StatusNotFound)
			if st := do(t, "GET", n.URL()+"/v1/upload/"+id, nil); st.status == http.StatusOK {
				var up wire.UploadResponse
				if err := wire.JSON.Unmarshal(st.body, &up); err != nil || up.Received != 0 {
					t.Fatalf("session after a refused stream: %s", st.body)
				}
			}
		})
	}
}

// TestUploader_ResumesBrokenStream sends a file through a network
// emulator that cuts every connection after 20 MiB: each stream breaks,
// and the upload resumes from the batches the server committed.
func TestUploader_ResumesBrokenStream(t *testing.T) {
	n := startNode(t)
	tp := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), zerolog.Nop())
	p := toxiproxy.NewProxy(tp, "node", "127.0.0.1:0", n.Addr().String())
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Stop)
	js := `{"name":"cut","type":"limit_data","stream":"upstream","toxicity":1,"attributes":{"bytes":20971520}}`
	if _, err := p.Toxics.AddToxicJson(strings.NewReader(js)); err != nil {
		t.Fatalf("toxic: %v", err)
	}
	content := randomBytes(40 << 20)
	t.Run("Reader", func(t *testing.T) {
		var streams atomic.Int32
		count := roundTripFunc(func(r *http.Request) (*http.Response, error) {
			if r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/v1/upload/") {
				streams.Add(1)
			}
			return http.DefaultTransport.RoundTrip(r)
		})
		up := &uploader.Uploader{Server: "http://" + p.Listen, Encoding: wire.Protobuf, Retries: 5,
			Client: &http.Client{Transport: count}}
		obj, err := up.Upload(context.Background(), uploader.UploadFile{Key: "resumed", Size: int64(len(content)), Body: bytes.NewReader(content)})
		if err != nil {
			t.Fatalf("Upload: %v", err)
		}
		if obj.Sha256 != hexSHA(content) || streams.Load() < 2 {
			t.Fatalf("stored %v after %d streams, want the file after at least two", obj, streams.Load())
		}
		if got := do(t, "GET", n.URL()+"/v1/objects/resumed", nil); !bytes.Equal(got.body, content) {
			t.Fatal("content differs")
		}
	})
	t.Run("File", func(t *testing.T) {
		// From a file, with the uploader's own transport: the content
		// goes by sendfile, and each resumed stream seeks the file. 40 MiB
		// cannot pass one connection the proxy cuts at 20: success means
		// a stream broke and resumed.
		path := filepath.Join(t.TempDir(), "f")
		if err := os.WriteFile(path, content, 0o600); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		up := &uploader.Uploader{Server: "http://" + p.Listen, Encoding: wire.Protobuf, Retries: 5}
		obj, err := up.Upload(context.Background(), uploader.UploadFile{Key: "resumed-file", Size: int64(len(content)), Body: f})
		if err != nil {
			t.Fatalf("Upload: %v", err)
		}
		if obj.Sha256 != hexSHA(content) {
			t.Fatalf("stored %v, want the file", obj)
		}
		if got := do(t, "GET", n.URL()+"/v1/objects/resumed-file", nil); !bytes.Equal(got.body, content) {
			t.Fatal("content differs")
		}
	})
}

// TestUploadStatus_WaitsForOpenStream: while a stream still holds a
// session, GET /v1/upload/{id} does not answer; once the stream ends, it
// tells what the stream's batches committed, and a new stream resumes
// from there. A client that resumed from an answer given while the old
// stream was still committing would be refused.
func TestUploadStatus_WaitsForOpenStream(t *testing.T) {
	n := startNode(t)
	const chunk = 4 << 20
	content := randomBytes(5 * chunk)
	id := openSession(t, n, wire.Protobuf, "held", int64(len(content)))
	msgs := chunks(id, content, chunk)
	c := holdSession(t, n, id, msgs[:3])
	defer c.Close()

	status := func(timeout time.Duration) (*wire.UploadResponse, error) {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", n.URL()+"/v1/upload/"+id, nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, err
		}
		defer res.Body.Close()
		var b bytes.Buffer
		b.ReadFrom(res.Body)
		var up wire.UploadResponse
		if res.StatusCode != http.StatusOK || wire.JSON.Unmarshal(b.Bytes(), &up) != nil {
			return nil, fmt.Errorf("status %d: %s", res.StatusCode, b.Bytes())
		}
		return &up, nil
	}
	if up, err := status(500 * time.Millisecond); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("status while a stream holds the session: %+v, %v; want no answer yet", up, err)
	}

	c.Close() // the stream breaks off
	up, err := status(30 * time.Second)
	if err != nil {
		t.Fatalf("status after the stream ended: %v", err)
	}
	// Two 4 MiB messages make a batch, which commits; the third waits for
	// a batch and is dropped with the stream, unless the commit took it.
	if up.Received != 2*chunk && up.Received != 3*chunk {
		t.Fatalf("received %d after the stream, want the committed batch (%d or %d)", up.Received, 2*chunk, 3*chunk)
	}
	rest := streamMsgs(t, n, wire.Protobuf, id, msgs[up.Received/chunk:]...)
	if rest.status != http.StatusCreated {
		t.Fatalf("resumed stream: %d %s", rest.status, rest.body)
	}
	if got := do(t, "GET", n.URL()+"/v1/objects/held", nil); !bytes.Equal(got.body, content) {
		t.Fatal("content differs after the resumed stream")
	}
}

// holdSession streams msgs to session id over a raw connection whose
// request promises more bytes than it sends: the session stays held until
// the caller closes the connection.
func holdSession(t *testing.T, n *node.Node, id string, msgs []*wire.UploadRequest) net.Conn {
	t.Helper()
	body := delimited(t, wire.Protobuf, msgs...)
	c := dialRaw(t, n)
	fmt.Fprintf(c, "POST /v1/upload/%s HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\nContent-Length: %d\r\n\r\n", id, len(body)+1000)
	if _, err := c.Write(body); err != nil {
		c.Close()
		t.Fatal(err)
	}
	return c
}

// TestUploadSession_Busy: past SessionWait, a request on a session that
// another stream holds gets 503 with Retry-After, and changes nothing.
func TestUploadSession_Busy(t *testing.T) {
	n := startNode(t, func(c *node.Config) { c.SessionWait = 300 * time.Millisecond })
	const chunk = 4 << 20
	content := randomBytes(3 * chunk)
	id := openSession(t, n, wire.Protobuf, "busy", int64(len(content)))
	msgs := chunks(id, content, chunk)
	c := holdSession(t, n, id, msgs[:1])
	defer c.Close()

	for _, tc := range []struct {
		name   string
		method string
		body   []byte
	}{
		{"Status", "GET", nil},
		{"Stream", "POST", delimited(t, wire.Protobuf, msgs[0])},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := do(t, tc.method, n.URL()+"/v1/upload/"+id, bytes.NewReader(tc.body), "Content-Type", wire.Protobuf.ContentType())
			errorOf(t, a, http.StatusServiceUnavailable)
			if got := a.header.Get("Retry-After"); got != "1" {
				t.Fatalf("Retry-After %q, want 1", got)
			}
		})
	}
	c.Close()
	a := do(t, "GET", n.URL()+"/v1/upload/"+id, nil)
	var up wire.UploadResponse
	if a.status != http.StatusOK || wire.JSON.Unmarshal(a.body, &up) != nil || up.Received != 0 {
		t.Fatalf("status once the stream ended: %d %s, want 200 with nothing received (one message is no batch)", a.status, a.body)
	}
}

// TestUploader_WaitsOutBusySession: the upload program's stream breaks
// while another stream still holds the session. The status request gets
// 503 with Retry-After; the uploader waits, asks again once the session
// is free, and resumes from there.
func TestUploader_WaitsOutBusySession(t *testing.T) {
	n := startNode(t, func(c *node.Config) { c.SessionWait = 300 * time.Millisecond })
	const chunk = 4 << 20
	content := randomBytes(5 * chunk)
	var broke, busy atomic.Int32
	var held net.Conn
	tr := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/v1/upload/") && broke.Add(1) == 1 {
			// The first stream "breaks" while a connection that sent
			// the first 12 MiB still holds the session; it lets go a
			// while after the uploader first hears 503.
			id := strings.TrimPrefix(r.URL.Path, "/v1/upload/")
			held = holdSession(t, n, id, chunks(id, content, chunk)[:3])
			r.Body.Close()
			return nil, errors.New("stream broken by the test")
		}
		res, err := http.DefaultTransport.RoundTrip(r)
		if err == nil && r.Method == http.MethodGet && res.StatusCode == http.StatusServiceUnavailable && busy.Add(1) == 1 {
			time.AfterFunc(200*time.Millisecond, func() { held.Close() })
		}
		return res, err
	})
	up := &uploader.Uploader{Server: n.URL(), Encoding: wire.Protobuf, Retries: 3, Client: &http.Client{Transport: tr}}
	obj, err := up.Upload(context.Background(), uploader.UploadFile{Key: "waited", Size: int64(len(content)), Body: bytes.NewReader(content)})
	if err != nil {
		t.Fatalf("Upload: %v", err)
	}
	if busy.Load() == 0 || broke.Load() < 2 {
		t.Fatalf("%d busy answers, %d streams; want a 503 and a resumed stream", busy.Load(), broke.Load())
	}
	if obj.Sha256 != hexSHA(content) {
		t.Fatalf("stored %v, want the file", obj)
	}
	if got := do(t, "GET", n.URL()+"/v1/objects/waited", nil); !bytes.Equal(got.body, content) {
		t.Fatal("content differs")
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestIdleClient: a client that goes silent in the middle of an upload
// body (a stream or a raw PUT) gets 408 once BodyIdleTimeout passes, not
// a connection held for ever, and nothing is stored.
// A large Protobuf message's content is read straight into the session's
// buffers, before the fields that follow it are known. The writer holds
// it until they are read and checked: a message refused for its last
// fields commits none of its bytes, even past a whole batch, and fields
// in any order are taken.
func TestUploadStream_ContentBeforeFields(t *testing.T) {
	n := startNode(t)
	pb := wire.Protobuf
	content := randomBytes(9 << 20) // more than a batch
	// message frames fields (built with protowire) as one stream message.
	message := func(fields ...[]byte) []byte {
		var m []byte
		for _, f := range fields {
			m = append(m, f...)
		}
		return append(protowire.AppendVarint(nil, uint64(len(m))), m...)
	}
	bytesField := func(num protowire.Number, v []byte) []byte {
		return protowire.AppendBytes(protowire.AppendTag(nil, num, protowire.BytesType), v)
	}
	varintField := func(num protowire.Number, v uint64) []byte {
		return protowire.AppendVarint(protowire.AppendTag(nil, num, protowire.VarintType), v)
	}
	post := func(id string, body []byte) answer {
		return do(t, "POST", n.URL()+"/v1/upload/"+id, bytes.NewReader(body), "Content-Type", pb.ContentType())
	}
	tests := []struct {
		name   string
		tail   func(id string) [][]byte // fields after the content
		status int
	}{
		{"InvalidUTF8", func(string) [][]byte { return [][]byte{bytesField(7, []byte{0xc0})} }, http.StatusBadRequest},
		{"SecondContent", func(string) [][]byte { return [][]byte{bytesField(6, []byte("x"))} }, http.StatusBadRequest},
		{"OffsetAfter", func(string) [][]byte { return [][]byte{varintField(5, 1)} }, http.StatusConflict},
		{"OtherSession", func(string) [][]byte { return [][]byte{bytesField(1, []byte("other"))} }, http.StatusBadRequest},
		{"FieldsReversed", func(id string) [][]byte {
			return [][]byte{
				varintField(9, uint64(len(content))), varintField(8, 1), bytesField(7, []byte(hexSHA(content))),
				varintField(5, 0), bytesField(1, []byte(id)),
			}
		}, http.StatusCreated},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			key := "held/" + tc.name
			id := openSession(t, n, pb, key, int64(len(content)))
			a := post(id, message(append([][]byte{bytesField(6, content)}, tc.tail(id)...)...))
			if tc.status == http.StatusCreated {
				if a.status != tc.status {
					t.Fatalf("%d %s, want %d", a.status, a.body, tc.status)
				}
				if got := do(t, "GET", n.URL()+"/v1/objects/"+key, nil); !bytes.Equal(got.body, content) {
					t.Fatal("content differs")
				}
				return
			}
			errorOf(t, a, tc.status)
			st := do(t, "GET", n.URL()+"/v1/upload/"+id, nil)
			var up wire.UploadResponse
			if err := wire.JSON.Unmarshal(st.body, &up); st.status != http.StatusOK || err != nil || up.Received != 0 {
				t.Fatalf("session after a refused message: %d %s; want nothing received", st.status, st.body)
			}
		})
	}
}

func TestIdleClient(t *testing.T) {
	n := startNode(t, func(c *node.Config) { c.BodyIdleTimeout = 300 * time.Millisecond })
	id := openSession(t, n, wire.Protobuf, "idle", 0)
	msg, err := wire.Protobuf.AppendDelimited(nil, &wire.UploadRequest{UploadId: id, Content: randomBytes(1000)})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, head string
		first      []byte
	}{
		{"Stream", "POST /v1/upload/" + id + " HTTP/1.1\r\nContent-Type: application/x-protobuf\r\n", msg},
		{"Put", "PUT /v1/objects/idle HTTP/1.1\r\n", randomBytes(1000)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dialRaw(t, n)
			defer c.Close()
			fmt.Fprintf(c, "%sHost: x\r\nContent-Length: 1000000\r\n\r\n", tc.head)
			c.Write(tc.first)
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			res, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatalf("no answer to a silent client: %v", err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusRequestTimeout {
				t.Fatalf("silent client got %d, want 408", res.StatusCode)
			}
			errorOf(t, do(t, "GET", n.URL()+"/v1/objects/idle", nil), http.StatusNotFound)
		})
	}
}

// readSeekOnly hides a body's ReadAt: the uploader then hashes the bytes
// as it sends them instead of on a goroutine of its own.
type readSeekOnly struct{ r *bytes.Reader }

func (r readSeekOnly) Read(p []byte) (int, error)         { return r.r.Read(p) }
func (r readSeekOnly) Seek(o int64, w int) (int64, error) { return r.r.Seek(o, w) }

// changedAt reads like one file in order and like another through ReadAt,
// as a file rewritten while it uploads may.
type changedAt struct {
	*bytes.Reader
	other []byte
}

func (c changedAt) ReadAt(p []byte, off int64) (int, error) {
	return bytes.NewReader(c.other).ReadAt(p, off)
}

func TestUploader_Digest(t *testing.T) {
	n := startNode(t)
	content := randomBytes(700_000)
	for _, enc := range []wire.Encoding{wire.JSON, wire.Protobuf} {
		up := &uploader.Uploader{Server: n.URL(), Encoding: enc, ChunkSize: 128 << 10}
		t.Run(string(enc)+"/Inline", func(t *testing.T) {
			key := "digest/inline-" + string(enc)
			obj, err := up.Upload(context.Background(), uploader.UploadFile{Key: key, Size: int64(len(content)), Body: readSeekOnly{bytes.NewReader(content)}})
			if err != nil {
				t.Fatalf("Upload: %v", err)
			}
			if obj.Sha256 != hexSHA(content) {
				t.Fatalf("stored digest %s, want %s", obj.Sha256, hexSHA(content))
			}
		})
		t.Run(string(enc)+"/Changed", func(t *testing.T) {
			// The digest comes from the bytes read apart from those sent:
			// when they differ, the server refuses the upload.
			key := "digest/changed-" + string(enc)
			other := bytes.Clone(content)
			other[len(other)/2] ^= 1
			_, err := up.Upload(context.Background(), uploader.UploadFile{Key: key, Size: int64(len(content)), Body: changedAt{bytes.NewReader(content), other}})
			var se *uploader.ServerError
			if !errors.As(err, &se) || se.Status != http.StatusBadRequest || !strings.Contains(err.Error(), "digest") {
				t.Fatalf("Upload of a changed file: %v, want the server's digest refusal", err)
			}
			errorOf(t, do(t, "GET", n.URL()+"/v1/objects/"+key, nil), http.StatusNotFound)
		})
	}
}
