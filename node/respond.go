package node

import (
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"syscall"

	"github.com/go-chi/chi/v5/middleware"
	"google.golang.org/protobuf/proto"

	"metacdn/storage"
	"metacdn/wire"
)

// httpError is an error that knows its status and public message. Handlers
// return it where the package error alone does not pick the status.
type httpError struct {
	status int
	msg    string
	cause  error
}

func (e *httpError) Error() string {
	if e.cause != nil {
		return e.msg + ": " + e.cause.Error()
	}
	return e.msg
}

func (e *httpError) Unwrap() error { return e.cause }

func errStatus(status int, msg string, cause error) error {
	return &httpError{status: status, msg: msg, cause: cause}
}

// handlerFunc is a handler that returns its error; handle turns it into an
// answer, so each handler reads as: parse, call, map, write.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

func (n *Node) handle(h handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			n.writeError(w, r, err)
		}
	}
}

// statusOf maps package errors to HTTP statuses at the edge.
func statusOf(err error) (int, string) {
	var he *httpError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &he):
		if he.cause != nil && he.status < 500 {
			return he.status, he.msg + ": " + he.cause.Error()
		}
		return he.status, he.msg
	case errors.As(err, &mbe):
		return http.StatusRequestEntityTooLarge, "body over the size limit"
	case errors.Is(err, storage.ErrNotFound):
		return http.StatusNotFound, "not found"
	case errors.Is(err, storage.ErrBadKey), errors.Is(err, storage.ErrInvalid):
		return http.StatusBadRequest, err.Error()
	case errors.Is(err, storage.ErrDigestMismatch):
		return http.StatusBadRequest, "sha-256 digest does not match the content; nothing was stored"
	case errors.Is(err, storage.ErrOffsetMismatch):
		return http.StatusConflict, err.Error()
	case errors.Is(err, storage.ErrSessionBusy):
		return http.StatusServiceUnavailable, err.Error()
	case errors.Is(err, storage.ErrTooLarge), errors.Is(err, wire.ErrTooLarge):
		return http.StatusRequestEntityTooLarge, err.Error()
	case errors.Is(err, wire.ErrMalformed):
		return http.StatusBadRequest, err.Error()
	case errors.Is(err, wire.ErrUnknownEncoding):
		return http.StatusUnsupportedMediaType, "unknown encoding: send Content-Type application/json or application/x-protobuf"
	}
	return http.StatusInternalServerError, "internal error"
}

func (n *Node) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status, msg := statusOf(err)
	switch {
	case errors.Is(err, storage.ErrSessionBusy):
		// Not a fault of the server: another stream holds the session.
		// The next try waits on the server again, so it may come soon.
		w.Header().Set("Retry-After", "1")
		n.log.Warn("upload session busy", "request_id", middleware.GetReqID(r.Context()), "path", r.URL.Path)
	case status == http.StatusServiceUnavailable:
		// Overload (too many images resizing): the request line says so
		// at Warn; it is not the server failing.
	case status >= 500:
		n.log.Error("request failed", "request_id", middleware.GetReqID(r.Context()), "err", err)
	}
	writeJSON(w, status, map[string]string{"error": msg})
}

// writeJSON writes v as JSON. Protobuf messages go through encoding/json
// too, which writes the schema's field names (see package wire).
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"internal error"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// writeMessage answers in the request's encoding.
func writeMessage(w http.ResponseWriter, enc wire.Encoding, status int, m proto.Message) {
	b, err := enc.Marshal(m)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "internal error"})
		return
	}
	w.Header().Set("Content-Type", enc.ContentType())
	w.WriteHeader(status)
	w.Write(b)
}

// Gathering one response into one write call.
//
// net/http writes a response through a 4 KiB buffer: a 10 KiB object
// leaves in two write calls (headers and the first bytes, then the rest),
// and on loopback or a fast link each call costs a trip through the TCP
// stack and often a wakeup of the client. A respConn lets the handler of
// a small object gather the response's bytes and send them in one call:
// in BenchmarkGetWrk this saves several µs of CPU per 10 KiB GET.

// Bounds of gathering: below gatherMin net/http's buffers already send
// the whole response in one call; above gatherMax the copy costs more than
// the call it saves. gatherSlack is room for the status line and headers.
const (
	gatherMin   = 2 << 10
	gatherMax   = 60 << 10
	gatherSlack = 4 << 10
)

// respListener wraps each accepted connection in a respConn.
type respListener struct{ net.Listener }

func (l respListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &respConn{Conn: c}, nil
}

// respConn is a server connection that can hold back its writes: only
// the handler of the connection's current request (HTTP/1 serves one at a
// time) calls hold and release, and net/http writes from that goroutine.
type respConn struct {
	net.Conn
	held *[]byte // gathered bytes while holding, a pooled buffer
	cls  int     // held's bodyBufs class
}

// gatherer returns the respConn under r when r may gather its answer.
func gatherer(r *http.Request) *respConn {
	if r.ProtoMajor != 1 {
		return nil
	}
	cs, ok := r.Context().Value(connKey{}).(*connState)
	if !ok {
		return nil
	}
	c, _ := cs.conn.(*respConn)
	return c
}

// hold starts gathering writes, with room for n bytes.
func (c *respConn) hold(n int) {
	if c.held != nil {
		return
	}
	c.cls = bodyBufClass(int64(n))
	c.held = bodyBufs[c.cls].Get().(*[]byte)
	*c.held = (*c.held)[:0]
}

// release sends what was gathered in one write and stops gathering.
func (c *respConn) release() error {
	if c.held == nil {
		return nil
	}
	err := c.sendHeld()
	*c.held = (*c.held)[:cap(*c.held)]
	bodyBufs[c.cls].Put(c.held)
	c.held = nil
	return err
}

func (c *respConn) sendHeld() error {
	b := *c.held
	*c.held = b[:0]
	if len(b) == 0 {
		return nil
	}
	_, err := c.Conn.Write(b)
	return err
}

func (c *respConn) Write(p []byte) (int, error) {
	if c.held == nil {
		return c.Conn.Write(p)
	}
	if b := *c.held; len(b)+len(p) <= cap(b) {
		*c.held = append(b, p...)
		return len(p), nil
	}
	// More than announced: send in order, two calls.
	if err := c.sendHeld(); err != nil {
		return 0, err
	}
	return c.Conn.Write(p)
}

// ReadFrom keeps the socket's own ReadFrom (sendfile, splice) reachable
// for net/http, which looks for it on the connection.
func (c *respConn) ReadFrom(r io.Reader) (int64, error) {
	if c.held != nil {
		return io.Copy(writerOnly{c}, r)
	}
	if rf, ok := c.Conn.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(writerOnly{c.Conn}, r)
}

// writerOnly hides a ReadFrom from io.Copy.
type writerOnly struct{ io.Writer }

// CloseWrite lets net/http half-close the socket, as it does on a bare
// TCP connection.
func (c *respConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// SyscallConn gives the socket to whoever reads TCP_INFO from it.
func (c *respConn) SyscallConn() (syscall.RawConn, error) {
	sc, ok := c.Conn.(syscall.Conn)
	if !ok {
		return nil, errors.New("connection has no socket")
	}
	return sc.SyscallConn()
}
