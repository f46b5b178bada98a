package router

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// upstream is a minimal HTTP/1.1 client for the request path's commonest
// case, a GET or HEAD without a body to a plain-http server. Unlike
// http.Transport, which hands every request to a writer goroutine and
// every response back from a reader goroutine, the handler's own
// goroutine writes the request and reads the answer on a pooled
// connection: two goroutine switches fewer per request. Everything else
// (bodies, TLS) goes through http.Transport.
type upstream struct {
	host    string // HOST:PORT to dial and the Host header
	dialer  *net.Dialer
	maxIdle int

	mu     sync.Mutex
	idle   []*upConn
	closed bool
}

type upConn struct {
	nc       net.Conn
	br       *bufio.Reader
	w        io.Writer // nc, or its raw system calls
	wb       []byte    // the request being written
	lines    lineCache // header lines seen on this connection
	deadline readDeadline
	ents     []*upLine // the lines of the answer being parsed
	wbuf     []byte    // the lines an answer passes on, for the lean front
	last     lastHead  // the last answer head parsed into wbuf
	ur       upResp    // the answer being read (newResp)
	wait     wait      // while the answer's headers are awaited
}

// lastHead is an answer head and what parseHead made of it.
type lastHead struct {
	head   []byte
	ok     bool
	status string
	code   int
	length int64 // Content-Length, -1 if none
	close  bool
	wire   wireHead
}

func newUpstream(host string, dialer *net.Dialer, maxIdle int) *upstream {
	return &upstream{host: host, dialer: dialer, maxIdle: maxIdle}
}

// get returns an idle connection, or nil.
func (u *upstream) get() *upConn {
	u.mu.Lock()
	defer u.mu.Unlock()
	if n := len(u.idle); n > 0 {
		c := u.idle[n-1]
		u.idle[n-1] = nil
		u.idle = u.idle[:n-1]
		return c
	}
	return nil
}

// put keeps c for reuse, or closes it when the pool is full or closed.
func (u *upstream) put(c *upConn) {
	u.mu.Lock()
	if !u.closed && len(u.idle) < u.maxIdle {
		u.idle = append(u.idle, c)
		u.mu.Unlock()
		return
	}
	u.mu.Unlock()
	c.nc.Close()
}

// close drops the idle connections; connections in use are closed when
// their response is done.
func (u *upstream) close() {
	u.mu.Lock()
	idle := u.idle
	u.idle, u.closed = nil, true
	u.mu.Unlock()
	for _, c := range idle {
		c.nc.Close()
	}
}

func (u *upstream) dial(r *http.Request) (*upConn, error) {
	nc, err := u.dialer.DialContext(r.Context(), "tcp", u.host)
	if err != nil {
		return nil, err
	}
	rw := io.ReadWriter(nc)
	if raw := newRawIO(nc); raw != nil {
		rw = raw
	}
	return &upConn{nc: nc, br: bufio.NewReaderSize(rw, 64<<10), w: rw}, nil
}

// roundTrip sends r (a GET or HEAD without a body) with path as its
// request target and reads the answer's headers within headerTimeout.
// With lr, the request's header lines are lr's and the answer's lines
// are kept for the lean front as they are (see parseHead). A
// pooled connection the server closed while idle fails before any byte
// of an answer; the request is then sent once more on a new connection,
// which is safe as it has no body and changes nothing.
// ws, if not nil, holds the attempt while it awaits the answer's headers
// (see wait; gen is ws.since() when the server was chosen); an attempt
// given up is not sent again.
func (u *upstream) roundTrip(r *http.Request, lr *leanReq, path string, headerTimeout time.Duration, ws *waits, gen uint64) (*http.Response, error) {
	c := u.get()
	reused := c != nil
	for {
		if c == nil {
			var err error
			if c, err = u.dial(r); err != nil {
				return nil, err
			}
		}
		resp, err := c.exchange(r, lr, u.host, path, headerTimeout, ws, gen)
		if err == nil {
			b, ok := resp.Body.(*upBody)
			if !ok {
				b = &upBody{rc: resp.Body}
				resp.Body = b
			}
			b.c, b.u, b.keep = c, u, !resp.Close
			if resp.Body == http.NoBody || r.Method == http.MethodHead || resp.StatusCode == 204 || resp.StatusCode == 304 {
				// Nothing follows the header: the connection is free.
				b.eof = true
			}
			return resp, nil
		}
		c.nc.Close()
		if !reused || r.Context().Err() != nil || errors.Is(err, errGivenUp) {
			return nil, err
		}
		c, reused = nil, false
	}
}

func (c *upConn) exchange(r *http.Request, lr *leanReq, host, path string, headerTimeout time.Duration, ws *waits, gen uint64) (*http.Response, error) {
	b := append(c.wb[:0], r.Method...)
	b = append(append(b, ' '), path...)
	if q := r.URL.RawQuery; q != "" {
		b = append(append(b, '?'), q...)
	}
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(append(b, host...), "\r\n"...)
	if lr != nil {
		b = append(b, lr.fwd...)
	} else {
		for k, vv := range r.Header {
			if k == "Host" {
				continue
			}
			for _, v := range vv {
				// Values came through net/http's parser or this package, so
				// they hold no CR or LF.
				b = append(append(append(append(b, k...), ": "...), v...), "\r\n"...)
			}
		}
	}
	b = append(b, "\r\n"...)
	_, err := c.w.Write(b)
	c.wb = b[:0]
	if cap(b) > 16<<10 {
		c.wb = nil // an idle connection keeps no large request
	}
	if err != nil {
		return nil, fmt.Errorf("write request: %w", err)
	}
	c.deadline.set(c.nc, headerTimeout)
	if ws != nil {
		// After the deadline is set: giveUp's deadline must not be
		// overwritten by it.
		c.wait.nc = c.nc
		if !ws.add(&c.wait, gen) {
			c.deadline.clear()
			return nil, errGivenUp
		}
	}
	resp, err := c.readAnswer(r, lr != nil)
	// Informational answers (103 Early Hints) come before the real one;
	// the client gets only the real one, as http.Transport does.
	for err == nil && resp.StatusCode >= 100 && resp.StatusCode < 200 && resp.StatusCode != http.StatusSwitchingProtocols {
		resp, err = c.readAnswer(r, lr != nil)
	}
	if ws != nil && ws.done(&c.wait) {
		// The deadline moved under the cache; the caller closes the
		// connection, whatever came on it.
		c.deadline.clear()
		return nil, errGivenUp
	}
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return nil, fmt.Errorf("read response: %w", errHeaderTimeout)
		}
		return nil, fmt.Errorf("read response: %w", err)
	}
	// Bodies may rightly take long; a stalled one is noticed by the
	// client's side or the server's. A body already in the buffer needs
	// no more reads, and the next request sets its own deadline.
	if resp.ContentLength < 0 || int64(c.br.Buffered()) < resp.ContentLength {
		c.deadline.clear()
		c.nc.SetReadDeadline(time.Time{})
	}
	return resp, nil
}

// readAnswer reads one answer with the lean reader, or with
// http.ReadResponse if the lean one leaves it.
func (c *upConn) readAnswer(r *http.Request, wire bool) (*http.Response, error) {
	ur, err := c.readResponse(r, wire)
	switch {
	case err == nil:
		resp := &ur.Response
		if resp.Body == http.NoBody {
			ur.body.rc = http.NoBody
			resp.Body = &ur.body
		}
		return resp, nil
	case errors.Is(err, errFallback):
		return http.ReadResponse(c.br, r)
	}
	return nil, err
}

var errHeaderTimeout = &timeoutError{"timeout awaiting response headers"}

type timeoutError struct{ msg string }

func (e *timeoutError) Error() string   { return e.msg }
func (e *timeoutError) Timeout() bool   { return true }
func (e *timeoutError) Temporary() bool { return true }

// upBody gives the connection back to the pool once the body was read to
// its end, and closes it otherwise: a half-read HTTP/1.1 connection
// cannot carry another request.
type upBody struct {
	rc   io.ReadCloser // the body http.ReadResponse made, or nil
	lim  limitedBody   // else: the body's bytes are read from here
	wire wireHead      // the answer's header lines, when not in a map
	c    *upConn
	u    *upstream
	keep bool
	eof  bool
	done bool
}

func (b *upBody) Read(p []byte) (int, error) {
	var n int
	var err error
	if b.rc != nil {
		n, err = b.rc.Read(p)
	} else {
		n, err = b.lim.read(p)
	}
	if err == io.EOF {
		b.eof = true
	}
	return n, err
}

func (b *upBody) Close() error {
	if b.done {
		return nil
	}
	b.done = true
	if b.eof && b.keep {
		if b.rc != nil {
			b.rc.Close() // at EOF: reads nothing more
		}
		b.u.put(b.c)
		return nil
	}
	// Closing the connection first makes the body's Close, which would
	// otherwise read the rest, return at once.
	b.c.nc.Close()
	if b.rc != nil {
		b.rc.Close()
	}
	return nil
}
