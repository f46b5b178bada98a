package replication

import (
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"google.golang.org/protobuf/proto"

	"metacdn/storage"
	"metacdn/wire"
)

// SyncRoutes serves the peer sync API; node mounts it at /v1/replication.
//
//	POST /push       wire.PushRequest -> wire.PushResponse
//	POST /pull       wire.PullRequest -> wire.PullResponse
//	POST /heartbeat  wire.Heartbeat   -> wire.Heartbeat
//	GET  /blobs/{sha}                 -> the blob's bytes
//
// Messages come in either encoding, named by Content-Type; answers go in
// the request's encoding.
func (r *Replicator) SyncRoutes() http.Handler {
	rt := chi.NewRouter()
	rt.Use(r.requireClientCert)
	rt.Post("/push", r.handle(r.handlePush))
	rt.Post("/pull", r.handle(r.handlePull))
	rt.Post("/heartbeat", r.handle(r.handleHeartbeat))
	rt.Get("/blobs/{sha}", r.handle(r.handleBlob))
	rt.Head("/blobs/{sha}", r.handle(r.handleBlob))
	return rt
}

// requireClientCert refuses sync calls without a verified client
// certificate when the server speaks TLS: the listener already refused
// certificates from another CA, this refuses none at all.
func (r *Replicator) requireClientCert(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if r.cfg.RequireClientCert && !hasVerifiedClientCert(req) {
			writeError(w, wire.JSON, http.StatusForbidden, ErrNoClientCert.Error())
			return
		}
		next.ServeHTTP(w, req)
	})
}

// httpError carries the status a handler picked.
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

type handlerFunc func(w http.ResponseWriter, req *http.Request) error

// handle maps a handler's error to a status and an error body in the
// request's encoding.
func (r *Replicator) handle(h handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, req *http.Request) {
		err := h(w, req)
		if err == nil {
			return
		}
		status, msg := http.StatusInternalServerError, "internal error"
		var he *httpError
		switch {
		case errors.As(err, &he):
			status, msg = he.status, he.msg
			if he.cause != nil && status < 500 {
				msg += ": " + he.cause.Error()
			}
		case errors.Is(err, wire.ErrUnknownEncoding):
			status, msg = http.StatusUnsupportedMediaType, "unknown encoding: send Content-Type application/json or application/x-protobuf"
		case errors.Is(err, wire.ErrTooLarge):
			status, msg = http.StatusRequestEntityTooLarge, err.Error()
		case errors.Is(err, wire.ErrMalformed):
			status, msg = http.StatusBadRequest, err.Error()
		case errors.Is(err, storage.ErrNotFound):
			status, msg = http.StatusNotFound, "not found"
		}
		level := slog.LevelWarn
		if status >= 500 {
			level = slog.LevelError
		}
		r.log.Log(req.Context(), level, "sync request failed", "path", req.URL.Path, "status", status, "err", err)
		enc, e := wire.FromContentType(req.Header.Get("Content-Type"))
		if e != nil {
			enc = wire.JSON
		}
		writeError(w, enc, status, msg)
	}
}

func writeError(w http.ResponseWriter, enc wire.Encoding, status int, msg string) {
	writeMessage(w, enc, status, &wire.Error{Error: msg})
}

func writeMessage(w http.ResponseWriter, enc wire.Encoding, status int, m proto.Message) int {
	b, err := enc.Marshal(m)
	if err != nil {
		enc, status, b = wire.JSON, http.StatusInternalServerError, []byte(`{"error":"internal error"}`)
	}
	w.Header().Set("Content-Type", enc.ContentType())
	w.WriteHeader(status)
	w.Write(b)
	return len(b)
}

// readMessage decodes a request body in the encoding its Content-Type names.
func (r *Replicator) readMessage(req *http.Request, m proto.Message) (wire.Encoding, error) {
	enc, err := wire.FromContentType(req.Header.Get("Content-Type"))
	if err != nil {
		return "", err
	}
	body := &countingReader{r: req.Body}
	err = enc.ReadMessage(body, r.cfg.MaxMessageBytes, m)
	r.met.bytesReceived.WithLabelValues(r.peerLabel(req.Header.Get(headerPeerID))).Add(float64(body.n))
	return enc, err
}

// senderURL is where to fetch blobs of a push: the URL the sender gave,
// else the one the membership table holds.
func (r *Replicator) senderURL(req *http.Request, id string) string {
	if u := strings.TrimRight(req.Header.Get(headerPeerURL), "/"); checkURL(u) == nil {
		return u
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if m, ok := r.members[id]; ok {
		return m.row.URL
	}
	return ""
}

// handlePush applies a sender's entries, fetching the blobs it lacks from
// the sender first, and answers with this server's heads. The answer is
// sent only after the entries it covers are committed, so an acknowledged
// entry is on this server's disk. A failure part way still answers the
// heads, which tell the sender where to resume.
func (r *Replicator) handlePush(w http.ResponseWriter, req *http.Request) error {
	var msg wire.PushRequest
	enc, err := r.readMessage(req, &msg)
	if err != nil {
		return err
	}
	from := msg.GetFrom()
	entries := make([]storage.LogEntry, 0, len(msg.GetEntries()))
	for _, e := range msg.GetEntries() {
		entries = append(entries, entryFromWire(e))
	}
	if len(entries) > 0 {
		_, gap, err := r.applyEntries(req.Context(), source{id: from, url: r.senderURL(req, from)}, entries)
		if gap {
			r.wakePull(from)
		}
		if err != nil && req.Context().Err() == nil {
			r.met.errors.WithLabelValues(r.peerLabel(from), "apply").Inc()
			r.log.Warn("apply pushed entries", "peer", from, "err", err)
		}
	}
	heads, err := r.db.Heads()
	if err != nil {
		return err
	}
	writeMessage(w, enc, http.StatusOK, &wire.PushResponse{Heads: heads})
	return nil
}

func (r *Replicator) wakePull(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if m, ok := r.members[id]; ok {
		wake(m.pullWake)
	}
}

// handlePull answers the entries after the caller's cursors, of every
// origin, so a server can catch up on any origin from any peer.
func (r *Replicator) handlePull(w http.ResponseWriter, req *http.Request) error {
	var msg wire.PullRequest
	enc, err := r.readMessage(req, &msg)
	if err != nil {
		return err
	}
	limit := int(msg.GetLimit())
	if limit <= 0 || limit > r.cfg.PullLimit {
		limit = r.cfg.PullLimit
	}
	entries, heads, more, err := r.readAfter(msg.GetCursors(), limit)
	if err != nil {
		return err
	}
	resp := &wire.PullResponse{More: more, Heads: heads}
	for _, e := range entries {
		resp.Entries = append(resp.Entries, entryToWire(e))
	}
	n := writeMessage(w, enc, http.StatusOK, resp)
	label := r.peerLabel(msg.GetFrom())
	r.met.entriesShipped.WithLabelValues(label).Add(float64(len(entries)))
	r.met.bytesShipped.WithLabelValues(label).Add(float64(n))
	return nil
}

// handleHeartbeat takes in a peer's heartbeat and answers with this
// server's own.
func (r *Replicator) handleHeartbeat(w http.ResponseWriter, req *http.Request) error {
	var msg wire.Heartbeat
	enc, err := r.readMessage(req, &msg)
	if err != nil {
		return err
	}
	if err := r.observe(&msg, ""); err != nil {
		if errors.Is(err, wire.ErrMalformed) {
			return err
		}
		return &httpError{status: http.StatusInternalServerError, msg: "heartbeat", cause: err}
	}
	resp, err := r.heartbeat()
	if err != nil {
		return err
	}
	n := writeMessage(w, enc, http.StatusOK, resp)
	r.met.bytesShipped.WithLabelValues(r.peerLabel(msg.GetSelf().GetId())).Add(float64(n))
	return nil
}

// handleBlob streams a blob chunk by chunk; Range requests work, so a
// large fetch can resume.
func (r *Replicator) handleBlob(w http.ResponseWriter, req *http.Request) error {
	sha := chi.URLParam(req, "sha")
	if b, err := hex.DecodeString(sha); err != nil || len(b) != 32 || strings.ToLower(sha) != sha {
		return &httpError{status: http.StatusBadRequest, msg: "blob name must be a lowercase hex sha-256"}
	}
	br, err := r.db.OpenBlob(sha)
	if err != nil {
		return err
	}
	defer br.Close()
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("ETag", `"`+sha+`"`)
	cw := &countingWriter{ResponseWriter: w}
	http.ServeContent(cw, req, "", time.Time{}, br)
	r.met.bytesShipped.WithLabelValues(r.peerLabel(req.Header.Get(headerPeerID))).Add(float64(cw.n))
	if cw.errStatus != 0 {
		// ServeContent's own errors (416 for a range past the end) go out
		// as every other error of the API does.
		msg := strings.TrimSpace(string(cw.errText))
		if msg == "" { // a 412 has no text
			msg = strings.ToLower(http.StatusText(cw.errStatus))
		}
		return &httpError{status: cw.errStatus, msg: msg}
	}
	return nil
}

// countingWriter counts the body bytes written, and holds back an error
// status and its text for the caller to answer.
type countingWriter struct {
	http.ResponseWriter
	n         int64
	errStatus int
	errText   []byte
}

// maxErrorText bounds the error text a countingWriter keeps.
const maxErrorText = 256

func (c *countingWriter) WriteHeader(code int) {
	if code >= 400 && c.errStatus == 0 {
		c.errStatus = code
		return
	}
	c.ResponseWriter.WriteHeader(code)
}

func (c *countingWriter) Write(p []byte) (int, error) {
	if c.errStatus != 0 {
		c.errText = append(c.errText, p[:min(len(p), maxErrorText-len(c.errText))]...)
		return len(p), nil
	}
	n, err := c.ResponseWriter.Write(p)
	c.n += int64(n)
	return n, err
}
