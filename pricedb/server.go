package pricedb

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
)

// Server is the price service's HTTP half: the /v1/prices API, /healthz and
// /metrics over a Store. Build it with NewServer.
type Server struct {
	store    *Store
	logger   *slog.Logger
	maxBody  int64
	hasToken bool
	tokenSum [sha256.Size]byte
	metrics  *metrics
	router   http.Handler

	listCache atomic.Pointer[cachedList]
}

var _ http.Handler = (*Server)(nil)

// NewServer returns the handler serving store. It uses cfg.AdminToken,
// cfg.MaxBodyBytes (zero: DefaultMaxBodyBytes) and cfg.Logger (nil: quiet);
// the listening and timeout fields are for Start.
func NewServer(store *Store, cfg Config) *Server {
	s := &Server{
		store:    store,
		logger:   cfg.Logger,
		maxBody:  cfg.MaxBodyBytes,
		hasToken: cfg.AdminToken != "",
		// Comparing digests keeps the comparison constant-time in the
		// token's length too.
		tokenSum: sha256.Sum256([]byte(cfg.AdminToken)),
	}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	if s.maxBody <= 0 {
		s.maxBody = DefaultMaxBodyBytes
	}
	s.metrics = newMetrics(store)
	s.router = s.newRouter()
	return s
}

// ServeHTTP serves one request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.router.ServeHTTP(w, r) }

func (s *Server) newRouter() http.Handler {
	r := chi.NewRouter()
	r.Use(middleware.RequestID, s.observe, s.recoverer, headAsGet)
	r.NotFound(s.handle(func(http.ResponseWriter, *http.Request) error {
		return httpErr(http.StatusNotFound, "no such endpoint; try GET /v1/prices")
	}))
	r.MethodNotAllowed(s.handle(func(http.ResponseWriter, *http.Request) error {
		return httpErr(http.StatusMethodNotAllowed, "method not allowed on this path")
	}))
	r.Get("/healthz", s.handleHealthz)
	r.Method(http.MethodGet, "/metrics", s.metrics.handler())
	r.Route("/v1/prices", func(r chi.Router) {
		r.Get("/", s.handle(s.handleList))
		r.Route("/{provider}", func(r chi.Router) {
			r.Get("/", s.handle(s.handleGet))
			r.With(s.requireAdmin).Put("/", s.handle(s.handlePut))
			r.With(s.requireAdmin).Delete("/", s.handle(s.handleDelete))
		})
	})
	return r
}

// ListResponse is the body of GET /v1/prices.
type ListResponse struct {
	Providers []Price `json:"providers"`
	Version   uint64  `json:"version"`
}

// DeleteResponse is the body of a successful DELETE /v1/prices/{provider}.
type DeleteResponse struct {
	Provider string `json:"provider"`
	Deleted  bool   `json:"deleted"`
	Version  uint64 `json:"version"`
}

// ErrorResponse is the body of every error.
type ErrorResponse struct {
	Error string `json:"error"`
}

func (s *Server) handleHealthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte("ok\n"))
}

func (s *Server) handleList(w http.ResponseWriter, r *http.Request) error {
	// Answer a poller from the in-memory version before touching bbolt.
	if tag := s.listETag(s.store.Version()); etagMatch(r.Header.Get("If-None-Match"), tag) {
		notModified(w, tag)
		return nil
	}
	// Rows at one version never change, so the body encoded for that
	// version can be served until the next change.
	c := s.listCache.Load()
	if c == nil || c.version != s.store.Version() {
		rows, version, err := s.store.List()
		if err != nil {
			return err
		}
		body, err := encodeJSON(ListResponse{Providers: rows, Version: version})
		if err != nil {
			return err
		}
		c = &cachedList{version: version, body: body}
		s.listCache.Store(c)
	}
	tag := s.listETag(c.version)
	if etagMatch(r.Header.Get("If-None-Match"), tag) {
		notModified(w, tag)
		return nil
	}
	w.Header().Set("ETag", tag)
	w.Header().Set("Cache-Control", "no-cache")
	writeBody(w, http.StatusOK, c.body)
	return nil
}

// cachedList is the encoded body of GET /v1/prices at one version.
type cachedList struct {
	version uint64
	body    []byte
}

func (s *Server) handleGet(w http.ResponseWriter, r *http.Request) error {
	provider := chi.URLParam(r, "provider")
	if err := ValidateProvider(provider); err != nil {
		// No row can have this name, so it is simply not there.
		return httpErr(http.StatusNotFound, fmt.Sprintf("no price for provider %q: %v", truncate(provider, 80), err))
	}
	p, err := s.store.Get(provider)
	if errors.Is(err, ErrNotFound) {
		return httpErr(http.StatusNotFound, fmt.Sprintf("no price for provider %q (GET /v1/prices lists them)", provider))
	}
	if err != nil {
		return err
	}
	tag := s.rowETag(p)
	if etagMatch(r.Header.Get("If-None-Match"), tag) {
		notModified(w, tag)
		return nil
	}
	w.Header().Set("ETag", tag)
	w.Header().Set("Cache-Control", "no-cache")
	writeJSON(w, http.StatusOK, p)
	return nil
}

func (s *Server) handlePut(w http.ResponseWriter, r *http.Request) error {
	provider := chi.URLParam(r, "provider")
	if err := ValidateProvider(provider); err != nil {
		return err
	}
	p, err := DecodePrice(http.MaxBytesReader(w, r.Body, s.maxBody), provider)
	if err != nil {
		return err
	}
	stored, created, err := s.store.Put(p)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
		w.Header().Set("Location", "/v1/prices/"+stored.Provider)
	}
	w.Header().Set("ETag", s.rowETag(stored))
	writeJSON(w, status, stored)
	return nil
}

func (s *Server) handleDelete(w http.ResponseWriter, r *http.Request) error {
	provider := chi.URLParam(r, "provider")
	if err := ValidateProvider(provider); err != nil {
		return httpErr(http.StatusNotFound, fmt.Sprintf("no price for provider %q: %v", truncate(provider, 80), err))
	}
	version, err := s.store.Delete(provider)
	if errors.Is(err, ErrNotFound) {
		return httpErr(http.StatusNotFound, fmt.Sprintf("no price for provider %q (GET /v1/prices lists them)", provider))
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, DeleteResponse{Provider: provider, Deleted: true, Version: version})
	return nil
}

// requireAdmin lets a request through only with the right bearer token.
func (s *Server) requireAdmin(next http.Handler) http.Handler {
	return s.handle(func(w http.ResponseWriter, r *http.Request) error {
		if !s.hasToken {
			return httpErr(http.StatusForbidden, "admin calls are disabled: this priceinfo has no admin token; start it with --admin-token TOKEN or the CDN_ADMIN_TOKEN environment variable")
		}
		auth := r.Header.Get("Authorization")
		if auth == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="priceinfo"`)
			return httpErr(http.StatusUnauthorized, "admin token required: send 'Authorization: Bearer TOKEN' with the token priceinfo was started with (--admin-token or CDN_ADMIN_TOKEN)")
		}
		scheme, token, ok := strings.Cut(auth, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			w.Header().Set("WWW-Authenticate", `Bearer realm="priceinfo"`)
			return httpErr(http.StatusUnauthorized, "malformed Authorization header: want 'Authorization: Bearer TOKEN' (the token set by --admin-token or CDN_ADMIN_TOKEN)")
		}
		sum := sha256.Sum256([]byte(strings.TrimSpace(token)))
		if subtle.ConstantTimeCompare(sum[:], s.tokenSum[:]) != 1 {
			return httpErr(http.StatusForbidden, "wrong admin token: use the token priceinfo was started with (--admin-token or CDN_ADMIN_TOKEN)")
		}
		next.ServeHTTP(w, r)
		return nil
	})
}

func (s *Server) listETag(version uint64) string {
	return `"` + s.store.Epoch() + "-" + strconv.FormatUint(version, 10) + `"`
}

// rowETag uses the row's version, which is unique across all changes.
func (s *Server) rowETag(p Price) string {
	return `"` + s.store.Epoch() + "-" + strconv.FormatUint(p.Version, 10) + "-" + p.Provider + `"`
}

// etagMatch implements If-None-Match's weak comparison.
func etagMatch(header, tag string) bool {
	if header == "" {
		return false
	}
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == tag {
			return true
		}
	}
	return false
}

func notModified(w http.ResponseWriter, tag string) {
	w.Header().Set("ETag", tag)
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusNotModified)
}

// statusError carries a status and a message meant for the client.
type statusError struct {
	status int
	msg    string
}

func (e *statusError) Error() string { return e.msg }

func httpErr(status int, msg string) error { return &statusError{status: status, msg: msg} }

// handle adapts a handler that returns an error: the error picks the
// status and the public message; the cause goes to the request's log line.
func (s *Server) handle(h func(http.ResponseWriter, *http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		err := h(w, r)
		if err == nil {
			return
		}
		status, msg := s.errorStatus(err)
		if info := infoFrom(r.Context()); info != nil {
			info.err = err
		}
		writeJSON(w, status, ErrorResponse{Error: msg})
	}
}

func (s *Server) errorStatus(err error) (int, string) {
	var se *statusError
	var fe *FieldError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &se):
		return se.status, se.msg
	case errors.As(err, &mbe):
		return http.StatusRequestEntityTooLarge, fmt.Sprintf("request body is larger than the limit of %d bytes", mbe.Limit)
	case errors.As(err, &fe):
		return http.StatusBadRequest, fe.Error()
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound, err.Error()
	case errors.Is(err, ErrClosed):
		return http.StatusServiceUnavailable, "price service is shutting down"
	}
	return http.StatusInternalServerError, "internal error"
}

// writeJSON writes v indented, since people read these answers with curl.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := encodeJSON(v)
	if err != nil {
		status, body = http.StatusInternalServerError, []byte(`{"error": "internal error"}`+"\n")
	}
	writeBody(w, status, body)
}

func encodeJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encode response: %w", err)
	}
	return buf.Bytes(), nil
}

func writeBody(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// headAsGet serves HEAD with the GET handler; net/http drops the body.
// chi's middleware.GetHead misses routes inside sub-routers.
func headAsGet(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodHead {
			r = r.Clone(r.Context())
			r.Method = http.MethodGet
		}
		next.ServeHTTP(w, r)
	})
}

// recoverer turns a panic into a JSON 500 and logs it instead of killing
// the connection with a stack trace.
func (s *Server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			rec := recover()
			if rec == nil {
				return
			}
			if rec == http.ErrAbortHandler {
				panic(rec)
			}
			if info := infoFrom(r.Context()); info != nil {
				info.err = fmt.Errorf("panic: %v", rec)
			}
			writeJSON(w, http.StatusInternalServerError, ErrorResponse{Error: "internal error"})
		}()
		next.ServeHTTP(w, r)
	})
}

// Log attribute keys.
const (
	attrRequestID = "request_id"
	attrMethod    = "method"
	attrPath      = "path"
	attrRoute     = "route"
	attrStatus    = "status"
	attrBytes     = "bytes"
	attrDuration  = "duration"
	attrRemote    = "remote"
	attrError     = "error"
)

// observe writes one log line and the metrics for every request.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		info := &requestInfo{}
		r = r.WithContext(withInfo(r.Context(), info))
		next.ServeHTTP(ww, r)
		elapsed := time.Since(start)

		status := ww.Status()
		if status == 0 {
			status = http.StatusOK
		}
		route := "other"
		if rc := chi.RouteContext(r.Context()); rc != nil && rc.RoutePattern() != "" {
			route = rc.RoutePattern()
		}
		s.metrics.observe(r.Method, route, status, elapsed)

		level := slog.LevelInfo
		switch {
		case status >= 500:
			level = slog.LevelError
		case status >= 400:
			level = slog.LevelWarn
		}
		attrs := []slog.Attr{
			slog.String(attrRequestID, middleware.GetReqID(r.Context())),
			slog.String(attrMethod, r.Method),
			slog.String(attrPath, r.URL.Path),
			slog.String(attrRoute, route),
			slog.Int(attrStatus, status),
			slog.Int(attrBytes, ww.BytesWritten()),
			slog.Duration(attrDuration, elapsed),
			slog.String(attrRemote, r.RemoteAddr),
		}
		if info.err != nil {
			attrs = append(attrs, slog.String(attrError, info.err.Error()))
		}
		s.logger.LogAttrs(r.Context(), level, "http request", attrs...)
	})
}
