package router

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// copyBufPool holds body copy buffers.
var copyBufPool = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// hopHeader reports the hop-by-hop headers (RFC 9110 7.6.1) that a proxy
// must not pass on.
func hopHeader(k string) bool {
	switch k {
	case "Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
		"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade":
		return true
	}
	return false
}

// stripHop removes hop-by-hop headers, and those the Connection header
// names, from h.
func stripHop(h http.Header) {
	if c := h["Connection"]; len(c) > 0 {
		for _, v := range c {
			for _, f := range strings.Split(v, ",") {
				if f = strings.TrimSpace(f); f != "" {
					h.Del(f)
				}
			}
		}
	}
	for k := range h {
		if hopHeader(k) {
			delete(h, k)
		}
	}
}

func idempotent(r *http.Request) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		// A body can be sent only once, so a GET with one is not retried.
		return r.ContentLength == 0 || r.Body == nil || r.Body == http.NoBody
	}
	return false
}

var errBodyCopy = errors.New("response body cut")

// ServeHTTP routes r: /_proxy/* to the proxy's own API, everything else
// to the best server, with failover for idempotent requests.
func (rt *Router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/_proxy/") {
		rt.admin.ServeHTTP(w, r)
		return
	}
	rt.proxy(w, r, nil)
}

// serveLean is ServeHTTP for a request the lean front read into lr, whose
// r.Header is not filled.
func (rt *Router) serveLean(w http.ResponseWriter, r *http.Request, lr *leanReq) {
	if strings.HasPrefix(r.URL.Path, "/_proxy/") {
		lr.header(r)
		rt.admin.ServeHTTP(w, r)
		return
	}
	rt.proxy(w, r, lr)
}

// proxy routes r. With lr, r's header lines are lr's: hop-by-hop ones
// already out and X-Forwarded-For already in, and r.Header is filled
// only if a server needs it (lr.header).
func (rt *Router) proxy(w http.ResponseWriter, r *http.Request, lr *leanReq) {
	start := rt.now()
	ps := rt.pol.Load()
	if r.Method == http.MethodConnect {
		// Routing is by path; a tunnel hides it.
		w.Header()["X-Cdn-Policy"] = ps.header
		writeError(w, http.StatusMethodNotAllowed, "CONNECT is not supported: the proxy routes plain http:// requests by path")
		return
	}
	t := rt.table.Load()
	if len(t.servers) == 0 {
		w.Header()["X-Cdn-Policy"] = ps.header
		writeError(w, http.StatusServiceUnavailable, "no CDN server known yet: is the --server URL reachable? See GET /_proxy/status")
		rt.met.requestCounter(ps.policy, resultError).Inc()
		return
	}

	d := &decision{at: start, method: r.Method, path: r.URL.Path, policy: ps.policy, weight: ps.weight}
	d.attempts = d.abuf[:0]
	if r.URL.IsAbs() {
		d.host = r.URL.Host
	}
	d.size, d.sizeFrom = rt.sizeHint(r)
	var own *ranking
	if lr != nil {
		own = &lr.rk
	}
	rk := rt.rank(t, ps, d.size, start.UnixNano(), own)
	defer rk.release()
	d.fallback = rk.healthy == 0

	if lr == nil {
		stripHop(r.Header)
		if ip, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
			if prior := r.Header["X-Forwarded-For"]; len(prior) > 0 {
				ip = strings.Join(prior, ", ") + ", " + ip
			}
			r.Header["X-Forwarded-For"] = []string{ip}
		}
	}

	var body *clientBody
	if r.Body != nil && r.Body != http.NoBody {
		body = &clientBody{ReadCloser: r.Body}
		r.Body = body
	}
	retry := idempotent(r)
	maxAttempts := 1
	if retry {
		maxAttempts = min(rt.cfg.MaxAttempts, len(rk.servers))
	}
	var skipBuf [8]int
	skip := skipBuf[:0]
	var held *http.Response // the answer to give if no later server does better
	var heldSrv *Server
	notFound := 0
	release := func() {
		if held != nil {
			drainClose(held.Body)
			held, heldSrv = nil, nil
		}
	}
	for len(skip) < maxAttempts {
		i := best(rk.scores, skip)
		if i < 0 {
			break
		}
		ejected := i >= rk.healthy
		// A held 404 is only worth a second opinion from a healthy server.
		if held != nil && held.StatusCode == http.StatusNotFound && ejected {
			break
		}
		skip = append(skip, i)
		// The healthy server the request would go to after this one.
		next := best(rk.scores[:rk.healthy], skip)
		if len(skip) > 1 {
			rt.met.retries.Inc()
		} else if !ejected {
			d.score = rk.scores[i]
			if next >= 0 {
				d.runnerUp, d.runScore = rk.servers[next].ID, rk.scores[next]
			}
		}
		s := rk.servers[i]
		// The attempt may be given up if s turns out hung (see wait) only
		// when the request has a healthy server left to go to.
		var watch *waits
		var gen uint64
		if retry && len(skip) < maxAttempts && next >= 0 {
			watch, gen = &s.waits, s.waits.since()
		}
		resp, err := rt.roundTrip(r, lr, s, watch, gen)
		if err != nil {
			if r.Context().Err() != nil {
				release()
				d.attempts = append(d.attempts, attempt{server: s.ID, err: "client went away", ejected: ejected})
				rt.finish(d, nil, 0)
				return
			}
			if berr := body.failed(); berr != nil {
				// The client's body broke (a malformed chunk, a
				// connection cut): not the server's failure.
				release()
				d.attempts = append(d.attempts, attempt{server: s.ID, err: "client's body: " + shortErr(berr), ejected: ejected})
				w.Header()["X-Cdn-Policy"] = ps.header
				writeError(w, http.StatusBadRequest, "reading the request body: "+berr.Error())
				rt.finish(d, nil, http.StatusBadRequest)
				return
			}
			if !errors.Is(err, errGivenUp) {
				s.st.fail(rt.now(), rt.cfg.EjectBase, rt.cfg.EjectMax)
			}
			s.met.attempts[resultError].Inc()
			d.attempts = append(d.attempts, attempt{server: s.ID, err: shortErr(err), ejected: ejected})
			continue
		}
		s.met.attempts[resultOf(resp.StatusCode)].Inc()
		d.attempts = append(d.attempts, attempt{server: s.ID, status: resp.StatusCode, ejected: ejected})
		switch {
		case resp.StatusCode >= 500:
			s.st.fail(rt.now(), rt.cfg.EjectBase, rt.cfg.EjectMax)
			if held == nil {
				held, heldSrv = resp, s
			} else {
				drainClose(resp.Body) // a held 404 or 5xx says as much
			}
			continue
		case resp.StatusCode == http.StatusNotFound && retry:
			s.st.succeed()
			notFound++
			release()
			if notFound >= rt.cfg.MaxNotFound {
				rt.serve(w, r, lr, d, s, resp, ps)
				return
			}
			held, heldSrv = resp, s
			continue
		}
		s.st.succeed()
		release()
		rt.serve(w, r, lr, d, s, resp, ps)
		return
	}
	if held != nil {
		rt.serve(w, r, lr, d, heldSrv, held, ps)
		return
	}
	w.Header()["X-Cdn-Policy"] = ps.header
	writeError(w, http.StatusBadGateway, "no CDN server answered: see GET /_proxy/status")
	rt.finish(d, nil, http.StatusBadGateway)
}

// clientBody is a request body that remembers why reading it failed, so
// that an upload the client broke is not taken for the server failing.
// The transport reads it on a goroutine of its own.
type clientBody struct {
	io.ReadCloser
	mu  sync.Mutex
	err error
}

func (b *clientBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF {
		b.mu.Lock()
		if b.err == nil {
			b.err = err
		}
		b.mu.Unlock()
	}
	return n, err
}

// failed is the body's read failure, if any; nil for no body.
func (b *clientBody) failed() error {
	if b == nil {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err
}

// sizeHint is the expected transfer size: the request's body for
// uploads, the size seen last time for a GET, else AssumedSize.
func (rt *Router) sizeHint(r *http.Request) (int64, string) {
	if r.ContentLength > 0 {
		return r.ContentLength, "request body"
	}
	if r.Method == http.MethodGet {
		if n := rt.sizes.get(r.URL.Path, r.URL.RawQuery); n >= 0 {
			return n, "size seen before"
		}
	}
	return rt.cfg.AssumedSize, "size assumed"
}

// roundTrip sends r to s. The inbound request is shared by every attempt
// and never changed here: each attempt gets a shallow copy with its own URL.
// With watch (s's waits, and gen its since() when s was chosen), the
// attempt is given up if s fails a probe before its answer's headers come.
func (rt *Router) roundTrip(r *http.Request, lr *leanReq, s *Server, watch *waits, gen uint64) (*http.Response, error) {
	if s.fast != nil && r.ContentLength == 0 && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		path := r.URL.EscapedPath()
		if path == "" {
			path = "/"
		}
		if s.base.Path != "" {
			path = s.base.EscapedPath() + path
		}
		if lr != nil && !lr.built {
			// lr.fwd has no User-Agent line unless the client sent one.
			return s.fast.roundTrip(r, lr, path, rt.cfg.HeaderTimeout, watch, gen)
		}
		if _, ok := r.Header["User-Agent"]; !ok {
			r.Header["User-Agent"] = nil
		}
		return s.fast.roundTrip(r, nil, path, rt.cfg.HeaderTimeout, watch, gen)
	}
	if lr != nil {
		lr.header(r)
	}
	out := r.WithContext(r.Context())
	u := *s.base
	if u.Path == "" {
		u.Path, u.RawPath = r.URL.Path, r.URL.RawPath
	} else {
		u.Path = u.Path + r.URL.Path
		if r.URL.RawPath != "" {
			u.RawPath = u.EscapedPath() + r.URL.RawPath
		}
	}
	u.RawQuery = r.URL.RawQuery
	out.URL = &u
	out.Host = ""
	out.RequestURI = ""
	out.Close = false
	if r.ContentLength == 0 {
		out.Body = nil // lets the transport reuse the connection freely
	}
	if _, ok := r.Header["User-Agent"]; !ok {
		// Keep Go's default User-Agent out of the way of the server's logs.
		r.Header["User-Agent"] = nil
	}
	if watch == nil {
		return rt.transport.RoundTrip(out)
	}
	ctx, cancel := context.WithCancel(out.Context())
	w := &wait{cancel: cancel}
	out = out.WithContext(ctx)
	if !watch.add(w, gen) {
		cancel()
		return nil, errGivenUp
	}
	resp, err := rt.transport.RoundTrip(out)
	if watch.done(w) {
		if err == nil {
			resp.Body.Close()
		}
		cancel()
		return nil, errGivenUp
	}
	if err != nil {
		cancel()
		return nil, err
	}
	// The body is read under ctx: it is cancelled once closed.
	resp.Body = &cancelBody{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

// cancelBody cancels the request's context once the body is closed.
type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// serve passes resp on to the client. Once headers are written there is
// no way back: a body cut by the server aborts the client connection so
// that a truncated body is never mistaken for a whole one.
func (rt *Router) serve(w http.ResponseWriter, r *http.Request, lr *leanReq, d *decision, s *Server, resp *http.Response, ps *policyState) {
	defer resp.Body.Close()
	lw, _ := w.(*leanWriter)
	ub, _ := resp.Body.(*upBody)
	switch {
	case ub != nil && ub.wire.ok && lw != nil && lw.adoptWire(&ub.wire, s.idLine, ps.line):
		// The server's lines go out as they came, hop-by-hop ones left out.
	default:
		if ub != nil && ub.wire.ok {
			resp.Header = headerFromWire(ub.wire.lines)
		}
		stripHop(resp.Header)
		var h http.Header
		if lw != nil && lw.adoptHeader(resp.Header) {
			h = resp.Header // nothing reads resp.Header after this
		} else {
			h = w.Header()
			for k, vv := range resp.Header {
				h[k] = vv
			}
		}
		h["X-Cdn-Server"] = s.idHeader
		h["X-Cdn-Policy"] = ps.header
	}
	w.WriteHeader(resp.StatusCode)
	ranged := lr != nil && !lr.built && lr.rng || (lr == nil || lr.built) && r.Header.Get("Range") != ""
	if r.Method == http.MethodGet && resp.StatusCode == http.StatusOK && resp.ContentLength >= 0 && !ranged {
		rt.sizes.put(r.URL.Path, r.URL.RawQuery, resp.ContentLength)
	}
	d.server = s.ID
	if r.Method == http.MethodHead {
		rt.finish(d, s, resp.StatusCode)
		return
	}
	s.st.inflight.Add(1)
	// Only a body that may reach MinThroughputSize is timed.
	timed := resp.ContentLength < 0 || resp.ContentLength >= rt.cfg.MinThroughputSize
	var copyStart time.Time
	if timed {
		copyStart = time.Now()
	}
	n, err := copyBody(w, resp.Body, resp.ContentLength < 0)
	var elapsed time.Duration
	if timed {
		elapsed = time.Since(copyStart)
	}
	s.st.inflight.Add(-1)
	if err != nil {
		if errors.Is(err, errBodyCopy) && r.Context().Err() == nil {
			s.st.fail(rt.now(), rt.cfg.EjectBase, rt.cfg.EjectMax)
			s.met.attempts[resultError].Inc()
			d.attempts = append(d.attempts, attempt{server: s.ID, err: "body cut after " + strconv.FormatInt(n, 10) + " bytes"})
		}
		rt.finish(d, s, resp.StatusCode)
		panic(http.ErrAbortHandler)
	}
	if timed && resp.StatusCode >= 200 && resp.StatusCode < 300 && n >= rt.cfg.MinThroughputSize {
		s.st.observeTransfer(rt.now(), n, elapsed, rt.cfg.Alpha, rt.cfg.ThroughputTTL)
	}
	rt.finish(d, s, resp.StatusCode)
}

// copyBody streams src to w; errBodyCopy marks a failed read (the server's
// fault), other errors a failed write (the client's).
func copyBody(w http.ResponseWriter, src io.Reader, flush bool) (int64, error) {
	if b, ok := src.(*upBody); ok && b.rc == nil {
		return b.writeTo(w)
	}
	bp := copyBufPool.Get().(*[]byte)
	defer copyBufPool.Put(bp)
	buf := *bp
	var n int64
	var fl http.Flusher
	if flush {
		fl, _ = w.(http.Flusher)
	}
	for {
		nr, rerr := src.Read(buf)
		if nr > 0 {
			nw, werr := w.Write(buf[:nr])
			n += int64(nw)
			if werr != nil {
				return n, werr
			}
			if fl != nil {
				fl.Flush()
			}
		}
		if rerr == io.EOF {
			return n, nil
		}
		if rerr != nil {
			return n, errBodyCopy
		}
	}
}

func (rt *Router) finish(d *decision, s *Server, status int) {
	d.status = status
	d.dur = time.Since(d.at)
	rt.decisions.add(d)
	rt.met.duration.Observe(d.dur.Seconds())
	res := resultError
	if status != 0 {
		res = resultOf(status)
	}
	rt.met.requestCounter(d.policy, res).Inc()
	if s != nil {
		s.st.requests.Add(1)
	}
	if rt.log.Enabled(context.Background(), slog.LevelDebug) {
		rt.log.Debug("request", "method", d.method, "path", d.path, "server", d.server, "status", status, "duration", d.dur)
	}
}

// drainClose reads a little of an unwanted body so that its connection
// can be reused, then closes it.
func drainClose(b io.ReadCloser) {
	_, _ = io.CopyN(io.Discard, b, 4<<10)
	b.Close()
}

func shortErr(err error) string {
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case strings.Contains(err.Error(), "connection refused"):
		return "connection refused"
	}
	s := err.Error()
	if len(s) > 120 {
		s = s[:120]
	}
	return s
}
