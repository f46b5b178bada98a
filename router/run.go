package router

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// ShutdownTimeout bounds the wait for requests in flight at shutdown.
const ShutdownTimeout = 10 * time.Second

// NewHTTPServer wraps h in an http.Server with the proxy's timeouts.
// There is no ReadTimeout or WriteTimeout: uploads and downloads through
// the proxy may rightly take minutes; slow or idle clients are bounded by
// the header and idle timeouts instead.
func NewHTTPServer(h http.Handler, logger *slog.Logger) *http.Server {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    1 << 20,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
}

// Run is the proxy program: it listens on cfg.Listen, learns the servers,
// serves until ctx ends, then drains requests in flight and stops.
func Run(ctx context.Context, cfg Config, logger *slog.Logger) error {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	rt, err := New(cfg, logger.With("component", "router"))
	if err != nil {
		return err
	}
	// Listen before discovery so the bound address is known (and
	// /_proxy/healthz answers) while the first round runs.
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := NewFrontend(rt.Handler(), logger)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	addr := ln.Addr().String()
	logger.Info("proxy listening", "addr", addr, "url", "http://"+addr, "policy", cfg.Policy)
	if cfg.OnListen != nil {
		cfg.OnListen(addr)
	}
	if err := rt.Start(ctx); err != nil {
		_ = srv.Close()
		return err
	}
	logger.Info("proxy ready", "servers", len(rt.Servers()))

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	sctx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		logger.Warn("shutdown", "err", err)
	}
	_ = rt.Close()
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", serveErr)
	}
	logger.Info("proxy stopped")
	return nil
}
