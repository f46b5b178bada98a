package node

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// newRouter lists every route of a node, behind front (request id,
// recovery, log line and metrics in one wrapper).
func (n *Node) newRouter() http.Handler {
	r := chi.NewRouter()

	r.Get("/healthz", n.handleHealthz)
	r.Method(http.MethodGet, "/metrics", promhttp.HandlerFor(n.reg, promhttp.HandlerOpts{}))

	// Object routes sit on the top router, not a sub-router: a GET then
	// goes through one route lookup, not two and a mount.
	r.Get("/v1/objects", n.handle(n.handleList))
	r.Get("/v1/objects/", n.handle(n.handleList))
	r.Put("/v1/objects/*", n.handle(n.handlePut))
	get := n.handle(n.handleGet)
	r.Get(objectRoute, get)
	r.Head(objectRoute, get)
	r.With(n.admin).Delete("/v1/objects/*", n.handle(n.handleDelete))
	r.Get("/v1/variants/*", n.handle(n.handleVariants))
	r.Route("/v1/upload", func(r chi.Router) {
		r.Post("/", n.handle(n.handleUpload))
		r.Get("/{id}", n.handle(n.handleUploadStatus))
		r.Post("/{id}", n.handle(n.handleUploadStream))
		r.Delete("/{id}", n.handle(n.handleUploadAbort))
	})
	r.Mount("/v1/peers", n.syncer.PeerRoutes(n.admin))
	r.Mount("/v1/replication", n.syncer.SyncRoutes())
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no such endpoint: " + r.Method + " " + r.URL.Path})
	})
	mux := r
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", strings.Join(allowed(mux, r.URL.Path), ", "))
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "method " + r.Method + " not allowed on " + r.URL.Path})
	})
	return n.front(r, get)
}

// allowed lists the methods mux routes path for, for a 405's Allow header
// (RFC 9110 requires it).
func allowed(mux chi.Routes, path string) []string {
	var out []string
	for _, m := range [...]string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodDelete} {
		if mux.Match(chi.NewRouteContext(), m, path) {
			out = append(out, m)
		}
	}
	return out
}

func (n *Node) handleHealthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "id": n.cfg.ID})
}

// admin lets a request through only with the admin bearer token, compared
// in constant time.
func (n *Node) admin(next http.Handler) http.Handler {
	return AdminOnly(n.cfg.AdminToken, next)
}

// bearerToken returns the token of an "Authorization: Bearer TOKEN"
// header. The scheme's name is case-insensitive (RFC 9110, 11.1), as
// priceinfo takes it.
func bearerToken(h string) (string, bool) {
	scheme, token, ok := strings.Cut(h, " ")
	token = strings.TrimSpace(token)
	return token, ok && strings.EqualFold(scheme, "Bearer") && token != ""
}

// AdminOnly wraps next so that it runs only for requests carrying
// "Authorization: Bearer token". An empty token disables admin calls.
func AdminOnly(token string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if token == "" {
			writeJSON(w, http.StatusForbidden, map[string]string{"error": "admin API disabled: start the server with --admin-token TOKEN or CDN_ADMIN_TOKEN"})
			return
		}
		got, ok := bearerToken(r.Header.Get("Authorization"))
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="metacdn"`)
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "admin token required: send Authorization: Bearer TOKEN (the server's --admin-token or CDN_ADMIN_TOKEN)"})
			return
		}
		if subtle.ConstantTimeCompare([]byte(got), []byte(token)) != 1 {
			writeJSON(w, http.StatusForbidden, map[string]string{"error": "wrong admin token: use the server's --admin-token or CDN_ADMIN_TOKEN"})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// front is the node's outermost handler. It does what chi's RequestID and
// a recoverer, a logger and a metrics middleware would do, in one wrapper
// with one allocation per request: four wrappers cost a request context
// and a copy of the request each, a response-writer wrapper and the
// request id's formatting, which a 10 KiB GET felt.
//
// A GET or HEAD of an object, most requests by far, goes to get straight,
// with the routing context chi would have made: chi's lookup would also
// set the key as a path value on the request, an allocation of its own.
func (n *Node) front(mux *chi.Mux, get http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := nowFunc()
		rc := newReqCtx(r, w)
		rctx := rc.rctx
		rctx.Routes = mux
		r = r.WithContext(rc)
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				n.log.Error("panic in handler", "request_id", rc.requestID(), "panic", v)
				if !rc.rec.wroteHeader {
					writeJSON(&rc.rec, http.StatusInternalServerError, map[string]string{"error": "internal error"})
				}
			}
			status := rc.rec.status
			if status == 0 {
				status = http.StatusOK
			}
			took := nowFunc().Sub(start)
			n.met.observe(rctx, r.Method, status, rc.rec.bytes, took)
			n.logRequest(r, rc, status, took)
			// As with chi's own pool, a context kept past the request
			// sees the routing context reset.
			rctx.Reset()
			routeCtxs.Put(rctx)
		}()
		if key, ok := objectGetKey(r); ok {
			rctx.RouteMethod = r.Method
			rctx.RoutePatterns = append(rctx.RoutePatterns, objectRoute)
			rctx.URLParams.Add("*", key)
			get.ServeHTTP(&rc.rec, r)
			return
		}
		mux.ServeHTTP(&rc.rec, r)
	})
}

// objectRoute is the route of an object's key.
const objectRoute = "/v1/objects/*"

// objectGetKey returns the key of a GET or HEAD that chi would route to
// objectRoute: a non-empty rest of the path after /v1/objects/. A path
// with escapes (RawPath set) is left to chi, which routes on the raw form.
func objectGetKey(r *http.Request) (string, bool) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead || r.URL.RawPath != "" {
		return "", false
	}
	key, ok := strings.CutPrefix(r.URL.Path, objectRoute[:len(objectRoute)-1])
	return key, ok && key != ""
}

// logRequest writes one line per request; 5xx at Error, 4xx at Warn.
func (n *Node) logRequest(r *http.Request, rc *reqCtx, status int, took time.Duration) {
	level := slog.LevelInfo
	switch {
	case status >= 500 && status != http.StatusServiceUnavailable:
		level = slog.LevelError
	case status >= 400: // a 503 too: overload, which the server answers as designed
		level = slog.LevelWarn
	case strings.HasPrefix(r.URL.Path, "/v1/replication/"):
		// Peers sync every few seconds; their successful calls would
		// drown the lines users read.
		level = slog.LevelDebug
	}
	// The attributes cost more than the check, when the line is below the
	// configured level.
	if !n.log.Enabled(rc, level) {
		return
	}
	n.log.LogAttrs(rc, level, "request",
		slog.String("request_id", rc.requestID()),
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
		slog.Int("status", status),
		slog.Int64("bytes", rc.rec.bytes),
		slog.Duration("duration", took),
		slog.String("remote", r.RemoteAddr))
}

// routeCtxs pools chi's routing contexts, as chi's Mux does for the
// requests it gets without one.
var routeCtxs = sync.Pool{New: func() any { return chi.NewRouteContext() }}

// reqCtx is a request's context as the node's handlers see it: the
// request's own, with chi's routing context and the request id (chi's
// middleware.GetReqID reads it) answered by Value, and the response
// recorder in the same allocation.
type reqCtx struct {
	context.Context
	rctx *chi.Context
	rec  recorder
	id   string // the client's X-Request-Id; empty: derived from seq
	seq  uint64
}

func newReqCtx(r *http.Request, w http.ResponseWriter) *reqCtx {
	rc := &reqCtx{Context: r.Context(), rctx: routeCtxs.Get().(*chi.Context)}
	rc.rec.ResponseWriter = w
	if v := r.Header[middleware.RequestIDHeader]; len(v) > 0 && v[0] != "" {
		rc.id = v[0]
	} else {
		rc.seq = middleware.NextRequestID()
	}
	return rc
}

func (c *reqCtx) Value(key any) any {
	switch key {
	case chi.RouteCtxKey:
		return c.rctx
	case middleware.RequestIDKey:
		return c.requestID()
	}
	return c.Context.Value(key)
}

// requestID is chi's: host/random-000123. It is formatted only when read,
// which at the default log level is almost never.
func (c *reqCtx) requestID() string {
	if c.id != "" {
		return c.id
	}
	seq := strconv.FormatUint(c.seq, 10)
	if len(seq) < 6 {
		seq = "000000"[len(seq):] + seq
	}
	return reqIDPrefix + "-" + seq
}

// reqIDPrefix is chi's RequestID prefix for this process: the host name
// and ten random characters.
var reqIDPrefix = func() string {
	host, err := os.Hostname()
	if host == "" || err != nil {
		host = "localhost"
	}
	var b [12]byte
	rand.Read(b[:])
	s := strings.NewReplacer("+", "", "/", "").Replace(base64.StdEncoding.EncodeToString(b[:]))
	for len(s) < 10 {
		s += "0"
	}
	return host + "/" + s[:10]
}()

// recorder notes an answer's status and body bytes for the log and the
// metrics, as chi's WrapResponseWriter did: the first status written
// counts and later ones are dropped (1xx but 101 pass through).
type recorder struct {
	http.ResponseWriter
	status      int
	wroteHeader bool
	bytes       int64
}

func (w *recorder) WriteHeader(code int) {
	if code >= 100 && code <= 199 && code != http.StatusSwitchingProtocols {
		w.ResponseWriter.WriteHeader(code)
		return
	}
	if !w.wroteHeader {
		w.status, w.wroteHeader = code, true
		w.ResponseWriter.WriteHeader(code)
	}
}

func (w *recorder) Write(p []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	n, err := w.ResponseWriter.Write(p)
	w.bytes += int64(n)
	return n, err
}

// ReadFrom keeps net/http's ReadFrom (sendfile for files) reachable.
func (w *recorder) ReadFrom(r io.Reader) (int64, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	var n int64
	var err error
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
		n, err = rf.ReadFrom(r)
	} else {
		n, err = io.Copy(writerOnly{w.ResponseWriter}, r)
	}
	w.bytes += n
	return n, err
}

func (w *recorder) Flush() {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *recorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if h, ok := w.ResponseWriter.(http.Hijacker); ok {
		return h.Hijack()
	}
	return nil, nil, errors.New("response writer cannot hijack its connection")
}

// Unwrap lets http.ResponseController reach net/http's writer.
func (w *recorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }
