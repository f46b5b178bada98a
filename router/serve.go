package router

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Frontend serves a Router's handler on HTTP/1.1. The commonest request, a
// keep-alive GET or HEAD without a body, is read and answered on the
// connection's own goroutine by a lean loop: no per-request background
// reader, no per-request context, and the response's header and a small
// body leave in one write. A connection whose request is anything else
// (a body, HTTP/1.0, Connection: close, Expect, a header block over
// leanHeadMax, a malformed request, /_proxy/*) is handed whole, with the
// bytes already read, to a net/http server, which keeps it from then on.
type Frontend struct {
	h    http.Handler
	rt   *Router // h, when it is the Router: its lean requests skip the map
	hs   *http.Server
	log  *slog.Logger
	fall *handoffListener

	mu       sync.Mutex
	conns    map[*leanConn]struct{}
	lns      []net.Listener
	wg       sync.WaitGroup
	shutting atomic.Bool
	served   atomic.Bool
}

// leanHeadMax bounds the request header block the lean loop reads;
// larger ones go to net/http, which allows up to MaxHeaderBytes.
const leanHeadMax = 8 << 10

// leanStage is how much body without a Content-Length is held back in
// the hope that the handler ends and its length can be sent; past it the
// body is chunked. It is net/http's figure, so both answer alike.
const leanStage = 2048

// leanDirect is the size from which a body write skips the buffer.
const leanDirect = 2 << 10

// leanWriteBuf is the response buffer: a header and a body up to about
// this size leave in one write.
const leanWriteBuf = 16 << 10

// NewFrontend returns a Frontend for h with the proxy's timeouts (see
// NewHTTPServer). A nil logger keeps it quiet.
func NewFrontend(h http.Handler, logger *slog.Logger) *Frontend {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Frontend{h: h, hs: NewHTTPServer(h, logger), log: logger, conns: map[*leanConn]struct{}{}}
	s.rt, _ = h.(*Router)
	return s
}

// Serve accepts connections on ln until Shutdown or Close, and returns
// http.ErrServerClosed then. It may be called once.
func (s *Frontend) Serve(ln net.Listener) error {
	if !s.served.CompareAndSwap(false, true) {
		return errors.New("router: Frontend.Serve called twice")
	}
	s.mu.Lock()
	if s.shutting.Load() {
		s.mu.Unlock()
		ln.Close()
		return http.ErrServerClosed
	}
	s.fall = &handoffListener{addr: ln.Addr(), conns: make(chan net.Conn), done: make(chan struct{})}
	s.lns = append(s.lns, ln)
	fall := s.fall
	s.mu.Unlock()
	// net/http's server ends when Shutdown or Close closes fall.
	go func() { _ = s.hs.Serve(fall) }()
	var delay time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.shutting.Load() {
				return http.ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, syscall.EMFILE) ||
				errors.Is(err, syscall.ENFILE) || errors.Is(err, syscall.ECONNABORTED) {
				// As net/http does: back off on a temporary failure.
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				time.Sleep(delay)
				continue
			}
			return err
		}
		delay = 0
		c := &leanConn{s: s, nc: nc}
		s.mu.Lock()
		if s.shutting.Load() {
			s.mu.Unlock()
			nc.Close()
			return http.ErrServerClosed
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go c.serve()
	}
}

// Shutdown stops accepting, closes idle connections, waits for requests
// in flight (on both paths) to finish or ctx to end.
func (s *Frontend) Shutdown(ctx context.Context) error {
	s.stop()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	err := s.hs.Shutdown(ctx)
	select {
	case <-done:
	case <-ctx.Done():
		if err == nil {
			err = ctx.Err()
		}
	}
	return err
}

// Close closes the listener and every connection at once. As with
// net/http, handlers still running are not waited for: their writes fail.
func (s *Frontend) Close() error {
	s.stop()
	err := s.hs.Close()
	s.mu.Lock()
	for c := range s.conns {
		c.nc.Close()
	}
	s.mu.Unlock()
	return err
}

func (s *Frontend) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shutting.Swap(true) {
		return
	}
	for _, ln := range s.lns {
		ln.Close()
	}
	if s.fall != nil {
		s.fall.close()
	}
	// An idle connection waits in a read: a deadline in the past ends it.
	// A busy one sees shutting when its answer is done.
	for c := range s.conns {
		if c.idle.Load() {
			c.nc.SetReadDeadline(aLongTimeAgo)
		}
	}
}

var aLongTimeAgo = time.Unix(1, 0)

// handoffListener gives net/http the connections the lean loop passes on.
type handoffListener struct {
	addr  net.Addr
	conns chan net.Conn
	once  sync.Once
	done  chan struct{}
}

func (l *handoffListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *handoffListener) close()         { l.once.Do(func() { close(l.done) }) }
func (l *handoffListener) Close() error   { l.close(); return nil }
func (l *handoffListener) Addr() net.Addr { return l.addr }

// replayConn is a connection handed to net/http: it first reads back the
// bytes the lean loop had read.
type replayConn struct {
	net.Conn
	r io.Reader
}

func (c *replayConn) Read(p []byte) (int, error) {
	if c.r != nil {
		n, err := c.r.Read(p)
		if err == io.EOF {
			c.r = nil
			if n == 0 {
				return c.Conn.Read(p)
			}
			err = nil
		}
		return n, err
	}
	return c.Conn.Read(p)
}

// CloseWrite lets net/http half-close before closing, as it does for a
// plain TCP connection.
func (c *replayConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// leanConn is one client connection on the lean loop.
type leanConn struct {
	s        *Frontend
	nc       net.Conn
	raw      *rawIO // nc's reads and writes, when it is plain TCP
	br       *bufio.Reader
	remote   string
	idle     atomic.Bool
	head     []byte // copy of the request head, for a hand-off
	deadline readDeadline
	served   bool // a request was answered: the connection is kept alive
	lines    lineCache
	// The last request target and its parse: a client asks for the same
	// URL over and over.
	lastTarget string
	lastURL    *url.URL
	w          leanWriter
	// For the Router: the last request read into lr rather than a map
	// (lean), and the request and URL reused for each such one.
	lean     bool
	lr       leanReq
	req      http.Request
	url      url.URL
	ents     []*upLine
	xff      []byte
	remoteIP string // the client's address without the port, for X-Forwarded-For
	// The last head read into lr, and its method and host.
	lastHead   []byte
	lastLean   bool
	lastMethod string
	lastHost   string
}

func (c *leanConn) serve() {
	defer c.s.wg.Done()
	handed := false
	defer func() {
		c.s.mu.Lock()
		delete(c.s.conns, c)
		c.s.mu.Unlock()
		if !handed {
			c.nc.Close()
		}
	}()
	c.remote = c.nc.RemoteAddr().String()
	if ip, _, err := net.SplitHostPort(c.remote); err == nil {
		c.remoteIP = ip
	}
	var rd io.Reader = c.nc
	if c.raw = newRawIO(c.nc); c.raw != nil {
		rd = c.raw
	}
	c.br = bufio.NewReaderSize(rd, leanHeadMax)
	c.w.c = c
	c.w.h = make(http.Header, 16)
	for {
		r, ok := c.readRequest()
		if r == nil {
			if ok {
				handed = c.handoff()
			}
			return
		}
		c.served = true
		if !c.handle(r) || c.s.shutting.Load() {
			return
		}
	}
}

// readRequest waits for and parses the next request. It returns nil and
// true when the connection is to be handed to net/http (c.head and the
// reader's buffer hold what was read), nil and false when it is to be
// closed.
func (c *leanConn) readRequest() (*http.Request, bool) {
	if c.br.Buffered() == 0 {
		// The deadline is set before the connection counts as idle, so a
		// Shutdown's deadline in the past is never overwritten. As with
		// net/http, a new connection gets the header timeout for its
		// first request, a kept-alive one the idle timeout.
		if c.served {
			c.deadline.set(c.nc, c.s.hs.IdleTimeout)
		} else {
			c.nc.SetReadDeadline(time.Now().Add(c.s.hs.ReadHeaderTimeout))
		}
		c.idle.Store(true)
		if c.s.shutting.Load() {
			return nil, false
		}
		if _, err := c.br.Peek(1); err != nil {
			return nil, false
		}
		c.idle.Store(false)
	}
	// A request head nearly always comes whole in one read; only one
	// that does not needs the header deadline.
	n, waited := 0, false
	for {
		buf, _ := c.br.Peek(c.br.Buffered())
		if i := headEnd(buf); i >= 0 {
			n = i
			break
		}
		if len(buf) >= leanHeadMax {
			c.head = c.head[:0]
			return nil, true
		}
		if !waited {
			c.deadline.clear()
			c.nc.SetReadDeadline(time.Now().Add(c.s.hs.ReadHeaderTimeout))
			waited = true
		}
		if _, err := c.br.Peek(len(buf) + 1); err != nil {
			return nil, false // timed out, or the client closed
		}
	}
	buf, _ := c.br.Peek(n)
	if r, ok := c.parseRequest(buf); ok {
		c.br.Discard(n)
		return r, true
	}
	// Anything else is read by net/http's parser from a copy, so that
	// however far a malformed head gets, the connection's reader is past
	// exactly the head, and a hand-off replays each byte once.
	c.head = append(c.head[:0], buf...)
	c.br.Discard(n)
	r, err := http.ReadRequest(bufio.NewReaderSize(bytes.NewReader(c.head), len(c.head)))
	if err != nil || !leanEligible(r) {
		return nil, true
	}
	delete(r.Header, "Host") // as net/http's server does
	return r, true
}

// headEnd is the length of the header block at the start of b (through
// its empty line, which may end in CRLF or a bare LF), or -1.
func headEnd(b []byte) int {
	for i := 0; ; {
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			return -1
		}
		i += j + 1
		switch {
		case i < len(b) && b[i] == '\n':
			return i + 1
		case i+1 < len(b) && b[i] == '\r' && b[i+1] == '\n':
			return i + 2
		}
	}
}

// leanEligible reports whether the lean loop answers r itself.
func leanEligible(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	if r.ProtoMajor != 1 || r.ProtoMinor != 1 || r.Close || r.Host == "" {
		return false
	}
	if r.Body != http.NoBody || len(r.TransferEncoding) > 0 || r.ContentLength != 0 {
		return false
	}
	if _, ok := r.Header["Expect"]; ok {
		return false
	}
	if _, ok := r.Header["Upgrade"]; ok {
		return false
	}
	// net/http's server answers 400 to these itself.
	if hosts := r.Header["Host"]; len(hosts) != 1 || !validHost(hosts[0]) {
		return false
	}
	for _, vv := range r.Header {
		for _, v := range vv {
			for i := 0; i < len(v); i++ {
				if b := v[i]; (b < ' ' && b != '\t') || b == 0x7f {
					return false
				}
			}
		}
	}
	return !strings.HasPrefix(r.URL.Path, "/_proxy/")
}

// validHost accepts the bytes net/http allows in a Host header; anything
// else goes to net/http for its 400.
func validHost(h string) bool {
	for i := 0; i < len(h); i++ {
		c := h[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!$%&'()*+,-.:;=[]_~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// handoff passes the connection, with the bytes read so far, to net/http.
func (c *leanConn) handoff() bool {
	c.nc.SetReadDeadline(time.Time{})
	rest, _ := c.br.Peek(c.br.Buffered())
	replay := make([]byte, 0, len(c.head)+len(rest))
	replay = append(append(replay, c.head...), rest...)
	rc := &replayConn{Conn: c.nc, r: bytes.NewReader(replay)}
	select {
	case c.s.fall.conns <- rc:
		return true
	case <-c.s.fall.done:
		return false
	}
}

// handle answers r; false means the connection must close.
func (c *leanConn) handle(r *http.Request) (keep bool) {
	// The request keeps net/http's background context: with no reader
	// watching the connection during the handler, a client that leaves
	// shows as a failed write, as it would with net/http.
	r.RemoteAddr = c.remote
	w := &c.w
	w.reset(r)
	defer func() {
		if p := recover(); p != nil {
			keep = false
			// As net/http does, what already went to the connection's
			// buffer leaves before the close.
			if w.headOut {
				w.flush()
			}
			w.release()
			if p != http.ErrAbortHandler {
				c.s.log.Error("proxy handler panic", "err", p, "remote", c.remote)
			}
		}
	}()
	if c.lean {
		c.s.rt.serveLean(w, r, &c.lr)
	} else {
		c.s.h.ServeHTTP(w, r)
	}
	return w.finish()
}

// adoptHeader makes h the answer's header map, in place of copying it
// entry by entry; false if the handler already set headers of its own.
func (w *leanWriter) adoptHeader(h http.Header) bool {
	if len(w.h) > 0 || w.wroteHeader {
		return false
	}
	// The map given up is empty and no one else's: the next answer read
	// from a server fills it.
	headerPool.Put(w.h)
	w.h = h
	return true
}

// adoptWire makes the answer's header the lines of wh, and then extra,
// written out as they are; false if the handler already set headers of
// its own.
func (w *leanWriter) adoptWire(wh *wireHead, extra ...[]byte) bool {
	if len(w.h) > 0 || w.wroteHeader || !wh.ok {
		return false
	}
	b := append(w.wire[:0], wh.lines...)
	for _, x := range extra {
		b = append(b, x...)
	}
	w.wire = b
	w.wireOn, w.wireCL, w.wireDate, w.wireCT = true, wh.cl, wh.date, wh.ctype
	return true
}

// headerPool holds empty header maps for answers read from servers.
var headerPool = sync.Pool{New: func() any { return make(http.Header, 12) }}

// leanWriter is the lean loop's http.ResponseWriter. It keeps net/http's
// rules: a Content-Length the handler set, or one counted when the whole
// body was written before the handler returned and fits the buffer,
// chunked encoding otherwise; a Date header; a sniffed Content-Type.
type leanWriter struct {
	c           *leanConn
	h           http.Header
	req         *http.Request
	buf         []byte
	status      int
	wroteHeader bool // WriteHeader called
	headOut     bool // status line and header are in buf or sent
	chunked     bool
	head        bool // a HEAD request: no body goes out
	noBody      bool // the status allows no body
	closeAfter  bool
	cl          int64 // declared Content-Length, -1 if none
	written     int64
	err         error
	pooled      *[]byte // where buf came from
	bufs        net.Buffers
	arr         [3][]byte
	hdr         []byte // where writeHead puts the head together
	// Header lines adopted whole (adoptWire), written before h's.
	wire     []byte
	wireOn   bool
	wireCL   int64 // their Content-Length, -1 if none
	wireDate bool  // they hold a Date line
	wireCT   bool  // they hold a Content-Type line
}

var writeBufPool = sync.Pool{New: func() any { b := make([]byte, 0, leanWriteBuf); return &b }}

func (w *leanWriter) reset(r *http.Request) {
	if len(w.h) > 0 {
		clear(w.h)
	}
	w.wireOn = false
	w.req = r
	w.status = 0
	w.wroteHeader, w.headOut, w.chunked, w.closeAfter = false, false, false, false
	w.head = r.Method == http.MethodHead
	w.noBody = false
	w.cl = -1
	w.written = 0
	w.err = nil
}

// grab takes a buffer from the pool for bytes that are to wait, once per
// answer: an answer whose head goes out with a large body in one writev
// needs none.
func (w *leanWriter) grab() {
	if w.buf == nil {
		w.pooled = writeBufPool.Get().(*[]byte)
		w.buf = (*w.pooled)[:0]
	}
}

func (w *leanWriter) Header() http.Header { return w.h }

func (w *leanWriter) WriteHeader(code int) {
	if w.wroteHeader {
		return
	}
	if code < 100 || code > 999 {
		panic("invalid WriteHeader code " + strconv.Itoa(code))
	}
	if code < 200 {
		// No informational answers on the lean path: the handler sends
		// none, and 1xx headers would need their own framing.
		return
	}
	w.wroteHeader = true
	w.status = code
	w.noBody = code == 204 || code == 304
	// h["Content-Length"] rather than h.Get: no key to canonicalise.
	if vv := w.h["Content-Length"]; len(vv) > 0 && vv[0] != "" {
		if n, ok := parseContentLength(vv[0]); ok {
			w.cl = n
		} else {
			w.h.Del("Content-Length")
		}
	} else if w.wireOn {
		w.cl = w.wireCL
	}
}

func parseContentLength(v string) (int64, bool) {
	v = strings.TrimSpace(v)
	if v == "" || len(v) > 18 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return 0, false
		}
		n = n*10 + int64(v[i]-'0')
	}
	return n, true
}

func (w *leanWriter) Write(p []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if w.err != nil {
		return 0, w.err
	}
	if w.noBody {
		return 0, http.ErrBodyNotAllowed
	}
	if w.cl >= 0 && w.written+int64(len(p)) > w.cl {
		return 0, http.ErrContentLength
	}
	w.written += int64(len(p))
	if !w.headOut {
		if w.cl < 0 && len(w.buf)+len(p) <= leanStage {
			// The body so far waits, unframed, in buf: if the handler
			// ends before it grows past leanStage, its length is known.
			w.grab()
			w.buf = append(w.buf, p...)
			return len(p), nil
		}
		w.writeHead(w.buf, p)
	} else if !w.head {
		w.body(p)
	}
	if w.err != nil {
		return 0, w.err
	}
	return len(p), nil
}

// body frames and queues p after the head went out.
func (w *leanWriter) body(p []byte) {
	if !w.chunked {
		w.send(p)
		return
	}
	if len(p) == 0 {
		return
	}
	w.grab()
	var pre [20]byte
	b := strconv.AppendUint(pre[:0], uint64(len(p)), 16)
	b = append(b, '\r', '\n')
	if len(w.buf)+len(b)+len(p)+2 <= cap(w.buf) {
		w.buf = append(append(append(w.buf, b...), p...), '\r', '\n')
		return
	}
	w.buf = append(w.buf, b...)
	w.send(p)
	w.buf = append(w.buf, '\r', '\n')
}

// send queues p after buf: small writes gather in buf, a large one goes
// out at once together with what buf holds, in one writev, with no copy.
func (w *leanWriter) send(p []byte) {
	if len(p) < leanDirect {
		w.grab()
		if len(w.buf)+len(p) <= cap(w.buf) {
			w.buf = append(w.buf, p...)
			return
		}
	}
	w.writev(w.buf, p)
	w.buf = w.buf[:0]
}

// writev writes a and then b, in one system call when the socket takes
// both.
func (w *leanWriter) writev(a, b []byte) {
	if w.err != nil {
		return
	}
	if w.c.raw != nil {
		_, w.err = w.c.raw.Writev(a, b)
		return
	}
	w.arr[0], w.arr[1] = a, b
	w.bufs = w.arr[:2]
	_, w.err = w.bufs.WriteTo(w.c.nc)
	w.arr[0], w.arr[1] = nil, nil
}

// writeHead puts the status line and header into buf, then staged (the
// body held back so far, which aliases buf) and p.
func (w *leanWriter) writeHead(staged, p []byte) {
	w.headOut = true
	h := w.h
	bodyOK := !w.noBody
	if w.c.s.shutting.Load() || w.closeAfter || hasToken(h["Connection"], "close") {
		w.closeAfter = true
	}
	// The head is put together in the connection's own small buffer.
	b := w.hdr[:0]
	if w.status < len(statusLines) && statusLines[w.status] != nil {
		b = append(b, statusLines[w.status]...)
	} else {
		b = append(b, "HTTP/1.1 "...)
		b = appendStatus(b, w.status)
	}
	if w.wireOn {
		b = append(b, w.wire...)
	}
	for k, vv := range h {
		if k == "Transfer-Encoding" || (k == "Connection" && w.closeAfter) || !validHeaderKey(k) {
			continue
		}
		for _, v := range vv {
			b = append(b, k...)
			b = append(b, ':', ' ')
			b = appendHeaderValue(b, v)
			b = append(b, '\r', '\n')
		}
	}
	// Date, a sniffed Content-Type and Connection: close go out as
	// net/http's server adds them, without entering the handler's map.
	if _, ok := h["Date"]; !ok && !(w.wireOn && w.wireDate) {
		b = append(b, httpDate().line...)
	}
	if bodyOK && len(staged)+len(p) > 0 {
		if _, ok := h["Content-Type"]; !ok && !(w.wireOn && w.wireCT) {
			b = append(b, "Content-Type: "...)
			b = append(b, sniff(staged, p)...)
			b = append(b, '\r', '\n')
		}
	}
	if w.closeAfter {
		b = append(b, "Connection: close\r\n"...)
	}
	switch {
	case !bodyOK, w.cl >= 0:
	case p == nil && (!w.head || len(staged) > 0):
		// The handler is done: the whole body is staged.
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, int64(len(staged)), 10)
		b = append(b, '\r', '\n')
	case w.head:
	default:
		w.chunked = true
		b = append(b, "Transfer-Encoding: chunked\r\n"...)
	}
	b = append(b, '\r', '\n')
	w.hdr = b[:0] // b stays readable until the next answer's head
	n := len(staged)
	if n == 0 && w.buf == nil && !w.head && !w.chunked && len(p) >= leanDirect {
		// The commonest answer through the proxy: a head and a body of
		// known length leave together, neither copied.
		w.writev(b, p)
		return
	}
	w.grab()
	if w.head {
		w.buf = append(w.buf[:0], b...)
		return
	}
	// The staged body sits at the start of buf: move it behind the head.
	if len(b)+n > cap(w.buf) {
		nb := make([]byte, 0, len(b)+n+leanWriteBuf)
		w.buf = append(append(nb, b...), staged...)
	} else {
		w.buf = w.buf[:len(b)+n]
		copy(w.buf[len(b):], w.buf[:n])
		copy(w.buf, b)
	}
	if w.chunked && n > 0 {
		// Frame the staged bytes as the first chunk.
		body := append([]byte(nil), w.buf[len(b):]...)
		w.buf = w.buf[:len(b)]
		w.body(body)
	}
	if p != nil {
		w.body(p)
	}
}

// sniff is the Content-Type net/http would guess from the first bytes.
func sniff(staged, p []byte) string {
	if len(staged) >= 512 || len(p) == 0 {
		return http.DetectContentType(staged)
	}
	if len(staged) == 0 {
		return http.DetectContentType(p)
	}
	var tmp [512]byte
	b := append(tmp[:0], staged...)
	b = append(b, p[:min(len(p), 512-len(b))]...)
	return http.DetectContentType(b)
}

// Flush sends what is buffered, the header first if it is still held.
func (w *leanWriter) Flush() {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if !w.headOut {
		staged := w.buf
		w.buf = w.buf[:0]
		w.writeHead(staged, []byte{})
	}
	w.flush()
}

func (w *leanWriter) flush() {
	if len(w.buf) > 0 && w.err == nil {
		if w.c.raw != nil {
			_, w.err = w.c.raw.Write(w.buf)
		} else {
			_, w.err = w.c.nc.Write(w.buf)
		}
	}
	w.buf = w.buf[:0]
}

// finish completes the answer after the handler returned; false means
// the connection cannot carry another request.
func (w *leanWriter) finish() bool {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if !w.headOut {
		staged := w.buf
		w.buf = w.buf[:0]
		w.writeHead(staged, nil)
	}
	if w.chunked {
		w.grab()
		w.buf = append(w.buf, "0\r\n\r\n"...)
	}
	w.flush()
	keep := w.err == nil && !w.closeAfter
	if w.cl >= 0 && !w.head && !w.noBody && w.written != w.cl {
		keep = false // the client waits for bytes that never come
	}
	w.release()
	return keep
}

// release gives the buffer back: an idle connection holds none.
func (w *leanWriter) release() {
	if w.pooled != nil {
		// buf may have grown into a new array; the pool gets the old one.
		writeBufPool.Put(w.pooled)
		w.pooled = nil
	}
	w.buf = nil
	w.req = nil
	if cap(w.wire) > 4<<10 || cap(w.hdr) > 4<<10 {
		w.wire, w.hdr = nil, nil // an idle connection keeps no large header
	}
}

func hasToken(vv []string, tok string) bool {
	for _, v := range vv {
		for _, f := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(f), tok) {
				return true
			}
		}
	}
	return false
}

func validHeaderKey(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		switch c := k[i]; {
		case c <= ' ', c >= 0x7f, c == ':':
			return false
		}
	}
	return true
}

// headerLine is "key: value\r\n" as the lean writer writes a header.
func headerLine(key, value string) []byte {
	b := append([]byte(key), ':', ' ')
	return append(appendHeaderValue(b, value), '\r', '\n')
}

// appendHeaderValue writes v with CR and LF turned into spaces and the
// ends trimmed, as net/http does.
func appendHeaderValue(b []byte, v string) []byte {
	if len(v) > 0 && (v[0] <= ' ' || v[len(v)-1] <= ' ') {
		v = strings.Trim(v, " \t")
	}
	if strings.IndexByte(v, '\r') < 0 && strings.IndexByte(v, '\n') < 0 {
		return append(b, v...)
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == '\r' || c == '\n' {
			c = ' '
		}
		b = append(b, c)
	}
	return b
}

// statusLines holds "HTTP/1.1 code text\r\n" for each code with a text.
var statusLines = func() (t [600][]byte) {
	for code := range t {
		if code >= 100 && http.StatusText(code) != "" {
			t[code] = appendStatus([]byte("HTTP/1.1 "), code)
		}
	}
	return t
}()

func appendStatus(b []byte, code int) []byte {
	b = append(b, byte('0'+code/100), byte('0'+code/10%10), byte('0'+code%10), ' ')
	if t := http.StatusText(code); t != "" {
		b = append(b, t...)
	} else {
		b = append(b, "status code "...)
		b = strconv.AppendInt(b, int64(code), 10)
	}
	return append(b, '\r', '\n')
}

// dateCache holds the Date header of the current second.
var dateCache atomic.Pointer[dateEntry]

type dateEntry struct {
	sec  int64
	line []byte // "Date: ...\r\n"
}

func httpDate() *dateEntry {
	now := time.Now()
	if d := dateCache.Load(); d != nil && d.sec == now.Unix() {
		return d
	}
	d := &dateEntry{sec: now.Unix(), line: []byte("Date: " + now.UTC().Format(http.TimeFormat) + "\r\n")}
	dateCache.Store(d)
	return d
}

// readDeadline keeps a connection's read deadline, and moves it only when
// it has come nearer than the timeout less a 64th: at thousands of
// requests a second, the timer is then not reset for each one. The
// timeout is kept to within 1/64 of it.
// The clock is read once per call (monoNow), where time.Now reads two.
type readDeadline struct {
	at time.Duration // since monoStart
	on bool
}

func (d *readDeadline) set(nc net.Conn, timeout time.Duration) {
	now := monoNow()
	if d.on && d.at-now > timeout-timeout/64 {
		return
	}
	d.at, d.on = now+timeout, true
	nc.SetReadDeadline(monoStart.Add(d.at))
}

// clear forgets the deadline; the caller sets another one on the
// connection itself.
func (d *readDeadline) clear() { d.on = false }

// monoStart is the origin of monoNow.
var monoStart = time.Now()

// monoNow is the time since monoStart on the monotonic clock alone: one
// clock read, where time.Now reads the wall clock too. A time.Time made
// from it (monoStart.Add) carries the monotonic reading, which is what
// deadlines are measured by.
func monoNow() time.Duration { return time.Since(monoStart) }
