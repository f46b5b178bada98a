package replication

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the replicator's Prometheus collectors, labelled by peer id.
type metrics struct {
	lagEntries      *prometheus.GaugeVec
	lagSeconds      *prometheus.GaugeVec
	lastHeartbeat   *prometheus.GaugeVec
	alive           *prometheus.GaugeVec
	entriesShipped  *prometheus.CounterVec
	entriesReceived *prometheus.CounterVec
	bytesShipped    *prometheus.CounterVec
	bytesReceived   *prometheus.CounterVec
	errors          *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	const ns, sub = "metacdn", "replication"
	m := &metrics{
		lagEntries: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub,
			Name: "peer_lag_entries", Help: "Log entries this server holds that the peer has not acknowledged."},
			[]string{"peer"}),
		lagSeconds: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub,
			Name: "peer_lag_seconds", Help: "Age of the oldest log entry the peer lacks; 0 when it lacks none."},
			[]string{"peer"}),
		lastHeartbeat: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub,
			Name: "peer_last_heartbeat_timestamp_seconds", Help: "Unix time of the last heartbeat exchanged with the peer."},
			[]string{"peer"}),
		alive: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub,
			Name: "peer_up", Help: "1 when the peer is alive, 0.5 when suspect, 0 when dead."},
			[]string{"peer"}),
		entriesShipped: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "entries_shipped_total", Help: "Log entries sent to the peer by push or in pull answers."},
			[]string{"peer"}),
		entriesReceived: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "entries_received_total", Help: "Log entries from the peer that changed this server's log."},
			[]string{"peer"}),
		bytesShipped: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "bytes_shipped_total", Help: "Bytes of sync messages and blobs sent to the peer."},
			[]string{"peer"}),
		bytesReceived: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "bytes_received_total", Help: "Bytes of sync messages and blobs received from the peer."},
			[]string{"peer"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "errors_total", Help: "Failed sync operations by peer and operation."},
			[]string{"peer", "op"}),
	}
	if reg != nil {
		reg.MustRegister(m.lagEntries, m.lagSeconds, m.lastHeartbeat, m.alive, m.entriesShipped,
			m.entriesReceived, m.bytesShipped, m.bytesReceived, m.errors)
	}
	return m
}

// forget drops a removed peer's series.
func (m *metrics) forget(peer string) {
	for _, v := range []*prometheus.GaugeVec{m.lagEntries, m.lagSeconds, m.lastHeartbeat, m.alive} {
		v.DeleteLabelValues(peer)
	}
}

// peerLabel is the metrics label of a peer id: the id of a server in the
// membership table, or this one's, else "unknown". The ids come in
// requests, so labelling every id a client sends would let it add series
// without bound.
func (r *Replicator) peerLabel(id string) string {
	r.mu.Lock()
	_, known := r.members[id]
	known = known || id == r.self.ID
	r.mu.Unlock()
	if id == "" || !known {
		return "unknown"
	}
	return id
}
