package replication

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"metacdn/wire"
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

// TestMetrics_UnknownPeerIDs: ids in requests are the sender's to choose;
// one that names no known server is labelled "unknown" instead of adding
// series of its own.
func TestMetrics_UnknownPeerIDs(t *testing.T) {
	n := newTestNode(t, "s1")
	n.start()
	for i := range 5 {
		body := fmt.Sprintf(`{"self":{"id":"ghost-%d","url":"not a url","provider":"x"}}`, i)
		post(t, n.url+"/v1/replication/heartbeat", wire.ContentTypeJSON, []byte(body))
		post(t, n.url+"/v1/replication/pull", wire.ContentTypeJSON, []byte(fmt.Sprintf(`{"from":"ghost-%d"}`, i)))
	}
	mfs, err := n.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if strings.HasPrefix(l.GetValue(), "ghost-") {
					t.Fatalf("%s has a series for %s=%q", mf.GetName(), l.GetName(), l.GetValue())
				}
			}
		}
	}
	if counterSum(t, n.reg, "metacdn_replication_bytes_shipped_total") == 0 {
		t.Fatal("the answers were not counted at all")
	}
}
