package node

// This file is the wiring point between a node and package replication.
// Until replication lands it serves the peer list from the configuration.

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"

	"metacdn/storage"
	"metacdn/wire"
)

func newSyncer(db *storage.DB, cfg Config, reg prometheus.Registerer, logger *slog.Logger) (Syncer, error) {
	return &staticPeers{cfg: cfg}, nil
}

func serverTLSConfig(cfg Config) (*tls.Config, error) {
	return nil, errors.New("tls is not available yet")
}

type staticPeers struct{ cfg Config }

func (s *staticPeers) Start(ctx context.Context) {}
func (s *staticPeers) Stop()                     {}
func (s *staticPeers) Notify()                   {}
func (s *staticPeers) SyncRoutes() http.Handler  { return http.NotFoundHandler() }

func (s *staticPeers) PeerRoutes(admin func(http.Handler) http.Handler) http.Handler {
	r := chi.NewRouter()
	r.Get("/", func(w http.ResponseWriter, r *http.Request) {
		list := &wire.PeerList{Self: &wire.Peer{Id: s.cfg.ID, Url: s.cfg.Advertise, Provider: s.cfg.Provider}}
		for _, u := range s.cfg.Peers {
			list.Peers = append(list.Peers, &wire.Peer{Url: u, State: "alive"})
		}
		writeJSON(w, http.StatusOK, list)
	})
	return r
}
