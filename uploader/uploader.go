package uploader

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"metacdn/wire"
)

// DefaultUploadChunk is how many content bytes one upload message carries.
const DefaultUploadChunk = 4 << 20

// Uploader sends files to a node with the upload protocol (POST
// /v1/upload, and POST /v1/upload/{id} for the chunks of a large file), so
// neither side holds a whole file in memory.
type Uploader struct {
	Server    string        // base URL of any node
	Encoding  wire.Encoding // JSON or Protobuf
	ChunkSize int           // content bytes per message; zero means DefaultUploadChunk
	Client    *http.Client  // nil means a client with a 2-minute timeout per message
	// Retries is how many times a broken stream is resumed from the
	// server's received count, or a busy session's status asked again
	// (503 with Retry-After), before the upload fails.
	Retries int
	// Progress, if set, is called after each acknowledged message with the
	// bytes sent so far.
	Progress func(sent int64)
}

// UploadFile describes one file to send.
type UploadFile struct {
	Key         string
	ContentType string
	Meta        map[string]string
	Size        int64 // bytes Body will yield
	// Body is read once, hashed as it goes; it is an io.ReadSeeker so that
	// a broken stream can resume (rehashing the part the server has).
	Body   io.ReadSeeker
	SHA256 string // hex; computed from Body when empty
}

// ServerError is an answer of the server that was not a success.
type ServerError struct {
	Status  int
	Message string
	// RetryAfter is the wait the server asked for (Retry-After), if any.
	RetryAfter time.Duration
}

func serverError(res *http.Response, body []byte) *ServerError {
	e := &ServerError{Status: res.StatusCode, Message: errorMessage(body)}
	if secs, err := strconv.Atoi(res.Header.Get("Retry-After")); err == nil && secs >= 0 {
		e.RetryAfter = min(time.Duration(secs)*time.Second, maxRetryAfter)
	}
	return e
}

// maxRetryAfter caps the wait a server's Retry-After can impose.
const maxRetryAfter = 30 * time.Second

func (e *ServerError) Error() string {
	return fmt.Sprintf("server answered %d %s: %s", e.Status, http.StatusText(e.Status), e.Message)
}

// Upload sends f and returns the stored object once the server committed it.
//
// A file that fits in one message goes as one. A larger one opens a
// session with a message that carries no bytes, then streams every chunk
// in a single request (POST /v1/upload/{id}): the server commits batches
// while it reads, instead of the client waiting for an answer per chunk.
// If the stream fails, the upload resumes from what the server committed,
// up to Retries times.
func (u *Uploader) Upload(ctx context.Context, f UploadFile) (*wire.Object, error) {
	chunk := int64(u.ChunkSize)
	if chunk <= 0 {
		chunk = DefaultUploadChunk
	}
	if f.Size <= chunk {
		return u.uploadOne(ctx, f)
	}
	open := &wire.UploadRequest{Key: f.Key, ContentType: f.ContentType, Metadata: f.Meta, TotalSize: f.Size}
	resp, err := u.send(ctx, open)
	if err != nil {
		return nil, err
	}
	if resp.UploadId == "" {
		return nil, errors.New("server opened no upload session")
	}
	id := resp.UploadId
	var fh *fileHash
	if ra, ok := f.Body.(io.ReaderAt); ok && f.SHA256 == "" {
		fh = hashFile(ctx, f.Key, ra, f.Size)
		defer fh.stop()
	}
	var offset int64
	for retries := u.Retries; ; retries-- {
		obj, err := u.stream(ctx, id, f, fh, offset, chunk)
		if err == nil {
			return obj, nil
		}
		var se *ServerError
		if retries <= 0 || ctx.Err() != nil || errors.As(err, &se) && se.Status < 500 && se.Status != http.StatusConflict {
			return nil, err
		}
		// Resume where the server says it is: it keeps every batch it
		// committed before the stream broke.
		offset, err = u.received(ctx, id)
		for se := (*ServerError)(nil); err != nil && retries > 0 && errors.As(err, &se) && se.RetryAfter > 0; {
			// Another stream still holds the session, most likely this
			// client's own broken one, not yet noticed by the server.
			retries--
			if err := sleep(ctx, se.RetryAfter); err != nil {
				return nil, err
			}
			offset, err = u.received(ctx, id)
		}
		if err != nil {
			return nil, err
		}
	}
}

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// uploadOne sends a file small enough for one message.
func (u *Uploader) uploadOne(ctx context.Context, f UploadFile) (*wire.Object, error) {
	buf := make([]byte, f.Size)
	if _, err := io.ReadFull(f.Body, buf); err != nil {
		return nil, fmt.Errorf("read %s: %w", f.Key, err)
	}
	sum := f.SHA256
	if sum == "" {
		s := sha256.Sum256(buf)
		sum = hex.EncodeToString(s[:])
	}
	resp, err := u.send(ctx, &wire.UploadRequest{
		Key: f.Key, ContentType: f.ContentType, Metadata: f.Meta, TotalSize: f.Size,
		Content: buf, Final: true, Sha256: sum,
	})
	if err != nil {
		return nil, err
	}
	if u.Progress != nil {
		u.Progress(f.Size)
	}
	if resp.Object == nil {
		return nil, errors.New("server acknowledged the upload without the stored object")
	}
	return resp.Object, nil
}

// streamIdle is how long a stream may go without the server taking a
// byte before it is given up.
const streamIdle = 2 * time.Minute

// stream sends f's bytes from offset to the end to session id as one
// request and returns the stored object. The final message carries the
// whole file's digest: fh's, or else hashed as the bytes go.
func (u *Uploader) stream(ctx context.Context, id string, f UploadFile, fh *fileHash, offset, chunk int64) (*wire.Object, error) {
	// Without fh, hash what the server already has, then the rest as it
	// goes.
	var h hash.Hash
	from := offset
	if fh == nil {
		h, from = sha256.New(), 0
	}
	if _, err := f.Body.Seek(from, io.SeekStart); err != nil {
		return nil, fmt.Errorf("seek %s: %w", f.Key, err)
	}
	if h != nil {
		if _, err := io.CopyN(h, f.Body, offset); err != nil {
			return nil, fmt.Errorf("read %s: %w", f.Key, err)
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	idle := time.AfterFunc(streamIdle, cancel)
	defer idle.Stop()
	body := &streamBody{
		enc: u.Encoding, f: f, h: h, hash: fh, id: id, off: offset, chunk: chunk, closed: make(chan struct{}),
		sent: func(sent int64) {
			idle.Reset(streamIdle)
			if u.Progress != nil {
				u.Progress(sent)
			}
		},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(u.Server, "/")+"/v1/upload/"+id, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", u.Encoding.ContentType())
	if u.Encoding == wire.Protobuf {
		if req.ContentLength, err = body.protobufLength(); err != nil {
			return nil, err
		}
	}
	resp, err := u.do(u.streamClient(), req)
	// Stop the transport and wait until it lets go of the body: the
	// caller may seek the file for a resumed stream next.
	cancel()
	<-body.closed
	if err != nil {
		if body.err != nil {
			return nil, body.err
		}
		return nil, err
	}
	if resp.Object == nil {
		return nil, fmt.Errorf("server stored %d of %d bytes and no object", resp.Received, f.Size)
	}
	return resp.Object, nil
}

// uploadTransport carries every Uploader without a Client, so that a
// session's opening message and its stream, and the files after them,
// share keep-alive connections.
var uploadTransport = func() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	// The transport copies a request body through its write buffer, 4 KiB
	// by default: a write system call per 4 KiB of file.
	t.WriteBufferSize = 256 << 10
	dial := t.DialContext
	t.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if tc, ok := c.(*net.TCPConn); ok {
			return fileConn{tc}, nil
		}
		return c, err
	}
	// TLS wraps the connection after the dial, so an HTTPS stream is
	// read through Read: TLS has to see every byte anyway.
	return t
}()

// fileConn is an upload connection that sends a stream's content
// straight from its file (sendfile) instead of reading it into the
// transport's buffer and writing it from there: net/http hands a request
// body of known length to the connection's ReadFrom, as an
// io.LimitedReader. Other bodies, and a stream whose file is not an
// *os.File or is hashed inline, go through Read as before. A 64 MiB
// Protobuf upload took 71-95 ms of the upload program's CPU instead of
// 100-127 (perf stat, 6 alternating runs, page cache dropped before
// each), and 134.9 ms instead of 142.0 (median of 20 alternating rounds;
// docs/benchmarks.md, "Uploads: bodies read in bulk").
//
// The digest still comes from reading the file apart (fileHash): bytes
// that changed between the two reads make the server refuse the upload.
type fileConn struct{ *net.TCPConn }

func (c fileConn) ReadFrom(r io.Reader) (int64, error) {
	lr, ok := r.(*io.LimitedReader)
	if !ok {
		return c.TCPConn.ReadFrom(r)
	}
	sb, ok := lr.R.(*streamBody)
	if !ok {
		return c.TCPConn.ReadFrom(r)
	}
	var total int64
	buf := make([]byte, 32<<10)
	for lr.N > 0 {
		if f, n := sb.fileContent(); f != nil {
			n = min(n, lr.N)
			w, err := c.TCPConn.ReadFrom(io.LimitReader(f, n))
			lr.N -= w
			total += w
			if err != nil {
				return total, err
			}
			if w < n {
				// The file ended early: it shrank since it was opened.
				err = io.ErrUnexpectedEOF
			}
			if err := sb.contentSent(w, err); err != nil {
				return total, err
			}
			continue
		}
		k, err := lr.Read(buf)
		if k > 0 {
			w, werr := c.TCPConn.Write(buf[:k])
			total += int64(w)
			if werr != nil {
				return total, werr
			}
		}
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// streamClient is the client for a stream, which may take far longer than
// one message: without Client set, no overall timeout (stream's idle
// timer guards it instead).
func (u *Uploader) streamClient() *http.Client {
	if u.Client != nil {
		return u.Client
	}
	return &http.Client{Transport: uploadTransport}
}

func (u *Uploader) client() *http.Client {
	if u.Client != nil {
		return u.Client
	}
	return &http.Client{Transport: uploadTransport, Timeout: 2 * time.Minute}
}

func (u *Uploader) send(ctx context.Context, m *wire.UploadRequest) (*wire.UploadResponse, error) {
	body, err := u.Encoding.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(u.Server, "/")+"/v1/upload", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", u.Encoding.ContentType())
	return u.do(u.client(), req)
}

// do sends req and decodes the answer.
func (u *Uploader) do(c *http.Client, req *http.Request) (*wire.UploadResponse, error) {
	res, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("read answer: %w", err)
	}
	if res.StatusCode >= 300 {
		return nil, serverError(res, b)
	}
	enc, err := wire.FromContentType(res.Header.Get("Content-Type"))
	if err != nil {
		return nil, err
	}
	var out wire.UploadResponse
	if err := enc.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("answer: %w", err)
	}
	return &out, nil
}

func (u *Uploader) received(ctx context.Context, id string) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(u.Server, "/")+"/v1/upload/"+id, nil)
	if err != nil {
		return 0, err
	}
	res, err := u.client().Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if res.StatusCode != http.StatusOK {
		return 0, serverError(res, b)
	}
	var out wire.UploadResponse
	if err := wire.JSON.Unmarshal(b, &out); err != nil {
		return 0, fmt.Errorf("upload status: %w", err)
	}
	return out.Received, nil
}

// errorMessage reads {"error": "..."}, or returns the body as it is.
func errorMessage(b []byte) string {
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(b, &e) == nil && e.Error != "" {
		return e.Error
	}
	return strings.TrimSpace(string(b))
}
