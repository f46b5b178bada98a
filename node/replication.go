package node

// This file is the wiring point between a node and package replication.

import (
	"crypto/tls"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"metacdn/replication"
	"metacdn/storage"
)

var _ Syncer = (*replication.Replicator)(nil)

// newSyncer builds the replication side of a node. It is called after
// storage is open and cfg.Advertise is set; it starts no loops.
func newSyncer(db *storage.DB, cfg Config, reg prometheus.Registerer, logger *slog.Logger) (Syncer, error) {
	rc := replication.Config{
		ID:                cfg.ID,
		URL:               cfg.Advertise,
		Provider:          cfg.Provider,
		Peers:             cfg.Peers,
		Encoding:          cfg.Encoding,
		HeartbeatInterval: cfg.HeartbeatInterval,
		Logger:            logger,
		Registerer:        reg,
	}
	if cfg.TLS {
		ct, err := replication.ClientTLSConfig(cfg.TLSCert, cfg.TLSKey, cfg.TLSCA)
		if err != nil {
			return nil, err
		}
		rc.ClientTLS = ct
		rc.RequireClientCert = true
	}
	return replication.New(db, rc)
}

// serverTLSConfig is the listener's TLS config: the node's certificate,
// client certificates optional but checked against the cluster CA.
func serverTLSConfig(cfg Config) (*tls.Config, error) {
	return replication.ServerTLSConfig(cfg.TLSCert, cfg.TLSKey, cfg.TLSCA)
}
