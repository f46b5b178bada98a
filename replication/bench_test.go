package replication

// Benchmarks of replication over real loopback HTTP and real bbolt files,
// in one process. BENCHMARKS.md has the figures and the command.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"metacdn/storage"
	"metacdn/wire"
)

// appendSignal makes n signal c after each commit that grew its log.
func appendSignal(n *testNode) chan struct{} {
	c := make(chan struct{}, 1)
	n.onAppend = func() { wake(c) }
	return c
}

// waitHead waits until n's log holds origin's seq.
func waitHead(tb testing.TB, n *testNode, sig chan struct{}, origin string, seq uint64) {
	tb.Helper()
	timeout := time.NewTimer(30 * time.Second)
	defer timeout.Stop()
	for n.heads()[origin] < seq {
		select {
		case <-sig:
		case <-timeout.C:
			tb.Fatalf("%s did not get %s/%d within 30 s", n.id, origin, seq)
		}
	}
}

func waitAllAlive(tb testing.TB, nodes []*testNode) {
	tb.Helper()
	for _, n := range nodes {
		waitFor(tb, n.id+" to see every peer alive", 30*time.Second, func() bool {
			alive := 0
			for _, p := range n.rep.Peers().Peers {
				if p.State == StateAlive {
					alive++
				}
			}
			return alive == len(nodes)-1
		})
	}
}

// distinct returns a copy of base whose first bytes hold i, so every
// object has its own blob (equal content would be stored once and never
// fetched).
func distinct(base []byte, i int) []byte {
	b := bytes.Clone(base)
	binary.LittleEndian.PutUint64(b, uint64(i))
	binary.LittleEndian.PutUint64(b[8:], uint64(time.Now().UnixNano()))
	return b
}

func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(p*float64(len(s))+0.5) - 1
	return s[min(max(i, 0), len(s)-1)]
}

// BenchmarkReplicationLag writes 1 MiB objects one after another, in turn
// on each of three servers, and measures from the writer's commit to each
// other server holding the entry (and so the blob). The heartbeat interval
// is the production default, so anti-entropy pulls do not help.
func BenchmarkReplicationLag(b *testing.B) {
	for _, enc := range []wire.Encoding{wire.JSON, wire.Protobuf} {
		b.Run(string(enc), func(b *testing.B) {
			nodes := cluster(b, 3, withEncoding(enc), withConfig(func(c *Config) { c.HeartbeatInterval = DefaultHeartbeatInterval }))
			sigs := map[*testNode]chan struct{}{}
			for _, n := range nodes {
				sigs[n] = appendSignal(n)
			}
			waitAllAlive(b, nodes)
			base := make([]byte, 1<<20)
			rand.Read(base)
			var lags []time.Duration
			b.SetBytes(1 << 20)
			b.ResetTimer()
			for i := range b.N {
				src := nodes[i%len(nodes)]
				o := src.put(fmt.Sprintf("lag/%d", i), distinct(base, i))
				acked := time.Now()
				seq := src.heads()[src.id]
				for _, n := range nodes {
					if n != src {
						waitHead(b, n, sigs[n], src.id, seq)
						lags = append(lags, time.Since(acked))
					}
				}
				_ = o
			}
			b.StopTimer()
			b.ReportMetric(float64(percentile(lags, 0.50).Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(percentile(lags, 0.99).Microseconds())/1000, "p99-ms")
			b.ReportMetric(float64(percentile(lags, 1).Microseconds())/1000, "max-ms")
		})
	}
}

// BenchmarkCatchUp ingests METACDN_BENCH_CATCHUP_MIB (default 1024) MiB
// of 1 MiB objects into one server, then starts an empty server that knows
// only it and measures how fast the newcomer catches up, against how fast
// the first took the data in.
func BenchmarkCatchUp(b *testing.B) {
	mib := 1024
	if s := os.Getenv("METACDN_BENCH_CATCHUP_MIB"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v <= 0 {
			b.Fatalf("METACDN_BENCH_CATCHUP_MIB=%q: want a positive integer", s)
		}
		mib = v
	}
	for _, enc := range []wire.Encoding{wire.JSON, wire.Protobuf} {
		b.Run(string(enc), func(b *testing.B) {
			base := make([]byte, 1<<20)
			rand.Read(base)
			var ingest, catchup time.Duration
			for range b.N {
				a := newTestNode(b, "s1", withEncoding(enc))
				a.start()
				start := time.Now()
				for i := range mib {
					_, err := a.db.Put(context.Background(), storage.PutRequest{Key: fmt.Sprintf("bulk/%d", i),
						ContentType: "application/octet-stream", Body: bytes.NewReader(distinct(base, i))})
					if err != nil {
						b.Fatal(err)
					}
				}
				ingest += time.Since(start)

				c := newTestNode(b, "s2", withEncoding(enc), withPeers(a.url))
				sig := appendSignal(c)
				start = time.Now()
				c.start()
				waitHead(b, c, sig, "s1", uint64(mib))
				catchup += time.Since(start)
				c.stop()
				a.stop()
			}
			total := float64(mib) * float64(b.N)
			in, cu := total/ingest.Seconds(), total/catchup.Seconds()
			b.ReportMetric(in, "ingest-MiB/s")
			b.ReportMetric(cu, "catchup-MiB/s")
			b.ReportMetric(cu/in, "ratio")
		})
	}
}
