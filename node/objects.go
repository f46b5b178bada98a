package node

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/textproto"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"

	"metacdn/storage"
	"metacdn/wire"
)

// metaHeaderPrefix marks request and response headers that carry user
// metadata, as S3 does with x-amz-meta-.
const metaHeaderPrefix = "X-Meta-"

// Listing bounds.
const (
	defaultListLimit = 100
	maxListLimit     = 1000
)

// objectKey returns the key the path names after its route's prefix. chi
// routes a path with escapes Go would write differently (RawPath set, as
// in cat%20(1).jpg or %c3%a9) on its raw form, so the key is unescaped
// here: however a client escapes a name, it is one key, and an escaped
// ".." is refused like a plain one.
func objectKey(r *http.Request) (string, error) {
	key := chi.URLParam(r, "*")
	if r.URL.RawPath != "" {
		k, err := url.PathUnescape(key)
		if err != nil {
			return "", fmt.Errorf("%w: %v", storage.ErrBadKey, err)
		}
		key = k
	}
	if err := storage.ValidateKey(key); err != nil {
		return "", err
	}
	return key, nil
}

func toWire(o storage.Object) *wire.Object {
	return &wire.Object{
		Key: o.Key, Size: o.Size, Sha256: o.SHA256, ContentType: o.ContentType, Metadata: o.Meta,
		Version: o.Version, Origin: o.Origin, Deleted: o.Deleted, ModifiedUnixNano: o.Modified.UnixNano(),
	}
}

// handlePut stores the raw body under the key: curl -T file URL.
func (n *Node) handlePut(w http.ResponseWriter, r *http.Request) error {
	key, err := objectKey(r)
	if err != nil {
		return err
	}
	meta := metaFromHeaders(r.Header)
	body := n.idleBody(w, r)
	defer body.Close()
	if n.cfg.MaxObjectSize > 0 {
		body = http.MaxBytesReader(w, body, n.cfg.MaxObjectSize)
	}
	obj, err := n.db.Put(r.Context(), storage.PutRequest{
		Key:         key,
		ContentType: contentTypeOf(r.Header.Get("Content-Type"), key),
		Meta:        meta,
		Body:        truncationReader{body},
		SHA256:      strings.ToLower(r.Header.Get("X-Content-Sha256")),
	})
	if err != nil {
		return bodyError(err)
	}
	n.uploaded(obj)
	writeJSON(w, http.StatusCreated, toWire(obj))
	return nil
}

// errTruncated is returned when a request body ends before its
// Content-Length.
var errTruncated = errStatus(http.StatusBadRequest, "truncated body: fewer bytes than Content-Length; nothing was stored", nil)

// truncationReader turns net/http's io.ErrUnexpectedEOF for a body cut
// short into errTruncated, which no reader of it can take for a clean end.
type truncationReader struct{ r io.Reader }

func (t truncationReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if errors.Is(err, io.ErrUnexpectedEOF) {
		err = errTruncated
	}
	return n, err
}

// contentTypeOf keeps what the client sent; curl -T sends none, so the
// key's extension is the next best guess.
func contentTypeOf(sent, key string) string {
	if sent != "" {
		return sent
	}
	if ct := mime.TypeByExtension(path.Ext(key)); ct != "" {
		return ct
	}
	return "application/octet-stream"
}

func metaFromHeaders(h http.Header) map[string]string {
	var meta map[string]string
	for name, vals := range h {
		k, ok := strings.CutPrefix(name, metaHeaderPrefix)
		if !ok || len(vals) == 0 {
			continue
		}
		if meta == nil {
			meta = make(map[string]string)
		}
		// storage.ValidateMeta refuses what no header may carry back
		// (an empty name, too many entries), for uploads as for PUT.
		meta[strings.ToLower(k)] = vals[0]
	}
	return meta
}

// handleGet serves an object's bytes, or an image variant with ?w=.
func (n *Node) handleGet(w http.ResponseWriter, r *http.Request) error {
	key, err := objectKey(r)
	if err != nil {
		return err
	}
	// Most GETs have no query: parsing one would allocate for nothing.
	if r.URL.RawQuery != "" {
		if ws := r.URL.Query().Get("w"); ws != "" {
			return n.images.serve(w, r, key, ws)
		}
	}
	obj, blob, err := n.db.OpenObject(key)
	if err != nil {
		return err
	}
	defer blob.Close()
	// A hot object's headers were made by an earlier GET of the same
	// state: this one sets them as they are.
	hdr, _ := blob.Memo().(*answerHeaders)
	if hdr == nil {
		hdr = newAnswerHeaders(obj.Meta, obj.SHA256, obj.ContentType, obj.Modified, blob.Size())
		blob.SetMemo(hdr)
	}
	return serveContent(w, r, hdr, blob)
}

// answerHeaders are the headers of an answer with content: made once,
// then shared by every answer of the same object state, so they must not
// change. Each value slice has cap == len, so that a Header.Add by anyone
// copies it rather than writing into the shared array.
type answerHeaders struct {
	modified time.Time
	size     int64
	// kv holds the user metadata, then Etag, Content-Type and
	// Accept-Ranges, which every answer has (first nRange entries), then
	// Content-Length and Last-Modified (if known), which a whole answer
	// adds and http.ServeContent sets itself.
	kv     []headerKV
	nRange int
}

type headerKV struct {
	key string
	val []string
}

func newAnswerHeaders(meta map[string]string, sha, contentType string, modified time.Time, size int64) *answerHeaders {
	a := &answerHeaders{modified: modified, size: size, kv: make([]headerKV, 0, len(meta)+5)}
	vals := make([]string, 0, len(meta)+5)
	add := func(k, v string) {
		vals = append(vals, v)
		a.kv = append(a.kv, headerKV{k, vals[len(vals)-1 : len(vals) : len(vals)]})
	}
	for k, v := range meta {
		add(metaHeaderPrefix+textproto.CanonicalMIMEHeaderKey(k), v)
	}
	add("Etag", `"`+sha+`"`)
	add("Content-Type", contentType)
	add("Accept-Ranges", "bytes")
	a.nRange = len(a.kv)
	add("Content-Length", strconv.FormatInt(size, 10))
	if !modified.IsZero() && !modified.Equal(unixEpoch) {
		add("Last-Modified", modified.UTC().Format(http.TimeFormat))
	}
	return a
}

func (a *answerHeaders) set(h http.Header, whole bool) {
	kv := a.kv
	if !whole {
		kv = kv[:a.nRange]
	}
	for _, e := range kv {
		h[e.key] = e.val
	}
}

// serveBlob answers with content addressed by sha, as serveContent does.
func serveBlob(w http.ResponseWriter, r *http.Request, sha, contentType string, modified time.Time, content io.ReadSeeker) error {
	size := int64(-1)
	if sized, ok := content.(interface{ Size() int64 }); ok {
		size = sized.Size()
	}
	return serveContent(w, r, newAnswerHeaders(nil, sha, contentType, modified, size), content)
}

// serveContent answers with content and its headers: ETag, Range,
// If-None-Match and Last-Modified follow http.ServeContent. A request with
// neither Range nor a precondition, nearly every one, is answered here
// without it: the same headers, but the body goes out through a pooled
// buffer, where ServeContent's io.CopyN allocates one per request, and a
// small one in one write call (see respConn). The error it returns is
// one ServeContent would have answered in plain text (a range past the
// end, a failed precondition), for the handler to answer as every other
// error; nothing is written then.
func serveContent(w http.ResponseWriter, r *http.Request, hdr *answerHeaders, content io.ReadSeeker) error {
	h := w.Header()
	size := hdr.size
	if size < 0 || !unconditional(r.Header) {
		hdr.set(h, false)
		if err := tameRange(r); err != nil {
			if size >= 0 {
				h.Set("Content-Range", "bytes */"+strconv.FormatInt(size, 10))
			}
			return err
		}
		hw := &heldErrorWriter{ResponseWriter: w}
		http.ServeContent(hw, r, "", hdr.modified, content)
		return hw.err()
	}
	hdr.set(h, true)
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return nil
	}
	// As with ServeContent, a failure now can only cut the body short;
	// net/http then closes the connection, as Content-Length is not met.
	if size >= gatherMin && size <= gatherMax {
		if c := gatherer(r); c != nil {
			c.hold(int(size) + gatherSlack)
			defer c.release()
			if writeBody(w, content, size) == nil {
				if f, ok := w.(http.Flusher); ok {
					f.Flush()
				}
			}
			return nil
		}
	}
	writeBody(w, content, size)
	return nil
}

// heldErrorWriter holds back an error status http.ServeContent writes,
// with the first maxErrorText bytes of its text (416 for a range past the
// end; a 412 has none), so that the handler answers it as a JSON error
// as it does every other.
type heldErrorWriter struct {
	http.ResponseWriter
	status int // an error status held back; 0 if none
	text   []byte
}

const maxErrorText = 256

func (w *heldErrorWriter) WriteHeader(code int) {
	if code < 400 || w.status != 0 {
		w.ResponseWriter.WriteHeader(code)
		return
	}
	w.status = code
}

func (w *heldErrorWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		return w.ResponseWriter.Write(p)
	}
	w.text = append(w.text, p[:min(len(p), maxErrorText-len(w.text))]...)
	return len(p), nil
}

func (w *heldErrorWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// err is the error held back, or nil.
func (w *heldErrorWriter) err() error {
	if w.status == 0 {
		return nil
	}
	msg := strings.TrimSpace(string(w.text))
	if msg == "" {
		msg = strings.ToLower(http.StatusText(w.status))
	}
	w.Header().Del("X-Content-Type-Options") // set with the text, which is gone
	return errStatus(w.status, msg, nil)
}

// unixEpoch is, like the zero time, "no modification time" to
// http.ServeContent.
var unixEpoch = time.Unix(0, 0)

// maxRanges bounds the ranges one request may ask for. Each part of a
// multipart answer carries its own headers: 5,000 one-byte ranges of a
// 100 KB object made a 738 KB answer.
const maxRanges = 16

var errEmptyRange = errStatus(http.StatusRequestedRangeNotSatisfiable, "a range of zero bytes (bytes=-0) selects nothing", nil)

// tameRange fixes what http.ServeContent gets wrong in a Range header: it
// drops a header asking for more than maxRanges ranges (the whole object
// is sent, as a server may), and it refuses a suffix of zero bytes
// ("-0"), which ServeContent answers 206 with an invalid Content-Range
// ("bytes 100-99/100"), or drops it from a list with other ranges.
func tameRange(r *http.Request) error {
	v := r.Header.Get("Range")
	spec, ok := strings.CutPrefix(v, "bytes=")
	if !ok {
		return nil
	}
	if strings.Count(spec, ",") >= maxRanges {
		r.Header.Del("Range")
		return nil
	}
	var kept []string
	for part := range strings.SplitSeq(spec, ",") {
		if strings.TrimSpace(part) != "-0" {
			kept = append(kept, part)
		}
	}
	switch {
	case len(kept) == 0:
		return errEmptyRange
	case len(kept) < strings.Count(spec, ",")+1:
		r.Header.Set("Range", "bytes="+strings.Join(kept, ","))
	}
	return nil
}

// unconditional reports whether h asks for the whole representation with
// no precondition: then http.ServeContent would answer 200 with it.
func unconditional(h http.Header) bool {
	for _, k := range [...]string{"Range", "If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since"} {
		if v := h[k]; len(v) > 0 && v[0] != "" {
			return false
		}
	}
	return true
}

// bodyBufs pools write buffers by size class, so a small object does not
// pin a large buffer. Past 256 KiB a larger buffer saves a few write calls
// per MiB but is seldom reused: each large GET allocates its MiB in
// storage, and the GC cycles that follow empty the pool.
var bodyBufs = [...]sync.Pool{
	{New: func() any { return newBodyBuf(0) }},
	{New: func() any { return newBodyBuf(1) }},
	{New: func() any { return newBodyBuf(2) }},
}

const bodyBufMin = 16 << 10 // classes: 16 KiB, 64 KiB, 256 KiB

func newBodyBuf(class int) *[]byte {
	b := make([]byte, bodyBufMin<<(2*class))
	return &b
}

func bodyBufClass(size int64) int {
	c := 0
	for c < len(bodyBufs)-1 && size > int64(bodyBufMin)<<(2*c) {
		c++
	}
	return c
}

// writeBody copies size bytes of content, which is at its start, to w.
// Content that can write itself (io.WriterTo) does so from its own
// buffer, saving a copy. Otherwise writeBody calls w.Write rather than
// io.Copy, which would hand content to the ResponseWriter's ReadFrom and
// so to net/http's unpooled copy.
func writeBody(w io.Writer, content io.Reader, size int64) error {
	if wt, ok := content.(io.WriterTo); ok {
		_, err := wt.WriteTo(w)
		return err
	}
	c := bodyBufClass(size)
	bp := bodyBufs[c].Get().(*[]byte)
	defer bodyBufs[c].Put(bp)
	buf := *bp
	for size > 0 {
		n, err := content.Read(buf[:min(int64(len(buf)), size)])
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return werr
			}
			size -= int64(n)
		}
		if size > 0 && err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
	}
	return nil
}

func (n *Node) handleDelete(w http.ResponseWriter, r *http.Request) error {
	key, err := objectKey(r)
	if err != nil {
		return err
	}
	obj, err := n.db.Delete(key)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toWire(obj))
	return nil
}

// listResponse is the body of GET /v1/objects.
type listResponse struct {
	Objects []*wire.Object `json:"objects"`
	// Next is the after= value of the next page; empty on the last page.
	Next string `json:"next,omitempty"`
}

func (n *Node) handleList(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	limit := defaultListLimit
	if s := q.Get("limit"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 {
			return errStatus(http.StatusBadRequest, "limit must be a positive integer", nil)
		}
		limit = min(v, maxListLimit)
	}
	// One more than asked tells whether another page follows.
	objs, err := n.db.List(q.Get("prefix"), q.Get("after"), limit+1)
	if err != nil {
		return err
	}
	resp := listResponse{Objects: make([]*wire.Object, 0, len(objs))}
	if len(objs) > limit {
		objs = objs[:limit]
		resp.Next = objs[limit-1].Key
	}
	for _, o := range objs {
		resp.Objects = append(resp.Objects, toWire(o))
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}
