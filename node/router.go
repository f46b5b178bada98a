package node

import (
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// newRouter lists every route of a node.
func (n *Node) newRouter() http.Handler {
	r := chi.NewRouter()
	r.Use(middleware.RequestID, n.recoverer, logRequests(n.log), n.met.instrument)

	r.Get("/healthz", n.handleHealthz)
	r.Method(http.MethodGet, "/metrics", promhttp.HandlerFor(n.reg, promhttp.HandlerOpts{}))

	r.Route("/v1/objects", func(r chi.Router) {
		r.Get("/", n.handle(n.handleList))
		r.Put("/*", n.handle(n.handlePut))
		r.Get("/*", n.handle(n.handleGet))
		r.Head("/*", n.handle(n.handleGet))
		r.With(n.admin).Delete("/*", n.handle(n.handleDelete))
	})
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
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "method " + r.Method + " not allowed on " + r.URL.Path})
	})
	return r
}

func (n *Node) handleHealthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "id": n.cfg.ID})
}

// recoverer answers a panic with a JSON 500 and logs the cause, never the
// stack to the client.
func (n *Node) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				n.log.Error("panic in handler", "request_id", middleware.GetReqID(r.Context()), "panic", v)
				writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "internal error"})
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// admin lets a request through only with the admin bearer token, compared
// in constant time.
func (n *Node) admin(next http.Handler) http.Handler {
	return AdminOnly(n.cfg.AdminToken, next)
}

// AdminOnly wraps next so that it runs only for requests carrying
// "Authorization: Bearer token". An empty token disables admin calls.
func AdminOnly(token string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if token == "" {
			writeJSON(w, http.StatusForbidden, map[string]string{"error": "admin API disabled: start the server with --admin-token TOKEN or CDN_ADMIN_TOKEN"})
			return
		}
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || got == "" {
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
