package replication

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// counterSum adds up every series of a metric family.
func counterSum(tb testing.TB, reg *prometheus.Registry, name string) float64 {
	tb.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		tb.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			switch {
			case m.GetCounter() != nil:
				sum += m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				sum += m.GetGauge().GetValue()
			}
		}
	}
	return sum
}

func hasFamily(tb testing.TB, reg *prometheus.Registry, name string) bool {
	tb.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		tb.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return true
		}
	}
	return false
}

func TestMetrics(t *testing.T) {
	nodes := cluster(t, 2)
	a, b := nodes[0], nodes[1]
	a.put("k", randBytes(1, 10000))
	waitConverged(t, 10*time.Second, a, b)
	// Counters move just after the answer or the apply: poll them.
	waitFor(t, "lag gauges", 10*time.Second, func() bool { return hasFamily(t, a.reg, "metacdn_replication_peer_lag_entries") })
	for _, name := range []string{
		"metacdn_replication_entries_shipped_total",
		"metacdn_replication_bytes_shipped_total",
		"metacdn_replication_peer_last_heartbeat_timestamp_seconds",
		"metacdn_replication_peer_up",
	} {
		waitFor(t, name+" on s1", 10*time.Second, func() bool { return counterSum(t, a.reg, name) > 0 })
	}
	waitFor(t, "entries received on s2", 10*time.Second, func() bool {
		return counterSum(t, b.reg, "metacdn_replication_entries_received_total") >= 1
	})
	waitFor(t, "the blob's bytes received on s2", 10*time.Second, func() bool {
		return counterSum(t, b.reg, "metacdn_replication_bytes_received_total") >= 10000
	})
}
