package replication

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"go.etcd.io/bbolt"

	"metacdn/fixtures"
	"metacdn/storage"
	"metacdn/wire"
)

// testInterval is the heartbeat interval of in-process test nodes: short,
// so that states and anti-entropy move quickly.
const testInterval = 50 * time.Millisecond

// testNode is one in-process server: a real bbolt file, a Replicator and a
// real HTTP server on loopback. It can be stopped and started again on
// the same address and file, as a restart would.
type testNode struct {
	tb    testing.TB
	id    string
	addr  string
	url   string
	path  string
	peers []string
	enc   wire.Encoding
	tweak func(*Config)
	// onAppend, if set, runs after each commit that grew the log.
	onAppend func()

	serverTLS *tls.Config

	db  *storage.DB
	rep *Replicator
	reg *prometheus.Registry
	srv *http.Server
	up  bool
}

type nodeOpt func(*testNode)

func withEncoding(e wire.Encoding) nodeOpt { return func(n *testNode) { n.enc = e } }
func withConfig(f func(*Config)) nodeOpt   { return func(n *testNode) { n.tweak = f } }
func withServerTLS(c *tls.Config) nodeOpt  { return func(n *testNode) { n.serverTLS = c } }
func withPeers(urls ...string) nodeOpt     { return func(n *testNode) { n.peers = urls } }

// newTestNode makes a node on a free loopback port; start runs it.
func newTestNode(tb testing.TB, id string, opts ...nodeOpt) *testNode {
	tb.Helper()
	n := &testNode{tb: tb, id: id, enc: wire.Protobuf, path: filepath.Join(tb.TempDir(), "metacdn.db")}
	for _, o := range opts {
		o(n)
	}
	if n.addr == "" {
		n.addr = fixtures.FreeAddr(tb)
	}
	scheme := "http"
	if n.serverTLS != nil {
		scheme = "https"
	}
	n.url = scheme + "://" + n.addr
	tb.Cleanup(n.stop)
	return n
}

func (n *testNode) start() {
	n.tb.Helper()
	var rep atomic.Pointer[Replicator]
	db, err := storage.Open(n.path, storage.Options{NodeID: n.id, SweepInterval: -1, OnAppend: func() {
		if r := rep.Load(); r != nil {
			r.Notify()
		}
		if n.onAppend != nil {
			n.onAppend()
		}
	}})
	if err != nil {
		n.tb.Fatalf("open %s: %v", n.id, err)
	}
	n.db = db
	n.reg = prometheus.NewRegistry()
	cfg := Config{ID: n.id, URL: n.url, Provider: "p-" + n.id, Peers: n.peers, Encoding: n.enc,
		HeartbeatInterval: testInterval, Registerer: n.reg}
	if n.tweak != nil {
		n.tweak(&cfg)
	}
	r, err := New(db, cfg)
	if err != nil {
		db.Close()
		n.tb.Fatalf("New %s: %v", n.id, err)
	}
	n.rep = r
	rep.Store(r)
	rt := chi.NewRouter()
	rt.Mount("/v1/replication", r.SyncRoutes())
	rt.Mount("/v1/peers", r.PeerRoutes(nil))
	var ln net.Listener
	// The port was free a moment ago; after a stop it may linger briefly.
	for range 100 {
		if ln, err = net.Listen("tcp", n.addr); err == nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err != nil {
		n.tb.Fatalf("listen %s: %v", n.addr, err)
	}
	if n.serverTLS != nil {
		ln = tls.NewListener(ln, n.serverTLS)
	}
	n.srv = &http.Server{Handler: rt, ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: log.New(io.Discard, "", 0)} // refused handshakes are expected in TLS tests
	go n.srv.Serve(ln)
	r.Start(context.Background())
	n.up = true
}

// stop shuts the node down in order: requests, loops, database.
func (n *testNode) stop() {
	if !n.up {
		return
	}
	n.up = false
	n.srv.Close()
	n.rep.Stop()
	err := n.db.Bolt().View(func(tx *bbolt.Tx) error {
		for err := range tx.Check() {
			n.tb.Errorf("%s: bbolt check: %v", n.id, err)
		}
		return nil
	})
	if err != nil {
		n.tb.Errorf("%s: bbolt check: %v", n.id, err)
	}
	if err := n.db.Close(); err != nil {
		n.tb.Errorf("%s: close: %v", n.id, err)
	}
}

func (n *testNode) put(key string, data []byte) storage.Object {
	n.tb.Helper()
	o, err := n.db.Put(context.Background(), storage.PutRequest{Key: key, ContentType: "application/octet-stream",
		Meta: map[string]string{"from": n.id}, Body: bytes.NewReader(data)})
	if err != nil {
		n.tb.Fatalf("%s: Put(%q): %v", n.id, key, err)
	}
	return o
}

func (n *testNode) del(key string) {
	n.tb.Helper()
	if _, err := n.db.Delete(key); err != nil {
		n.tb.Fatalf("%s: Delete(%q): %v", n.id, key, err)
	}
}

// state returns key -> "sha@version/origin" for every live object.
func (n *testNode) state() map[string]string {
	n.tb.Helper()
	out := map[string]string{}
	after := ""
	for {
		objs, err := n.db.List("", after, 1000)
		if err != nil {
			n.tb.Fatalf("%s: List: %v", n.id, err)
		}
		for _, o := range objs {
			out[o.Key] = fmt.Sprintf("%s@%d/%s", o.SHA256, o.Version, o.Origin)
			after = o.Key
		}
		if len(objs) < 1000 {
			return out
		}
	}
}

func (n *testNode) heads() map[string]uint64 {
	n.tb.Helper()
	h, err := n.db.Heads()
	if err != nil {
		n.tb.Fatal(err)
	}
	return h
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(tb testing.TB, what string, timeout time.Duration, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		<-t.C
	}
}

// waitConverged waits until every node holds the same objects and heads.
func waitConverged(tb testing.TB, timeout time.Duration, nodes ...*testNode) {
	tb.Helper()
	var last string
	deadline := time.Now().Add(timeout)
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		diff := differ(nodes)
		if diff == "" {
			return
		}
		last = diff
		if time.Now().After(deadline) {
			tb.Fatalf("not converged after %v: %s", timeout, last)
		}
		<-t.C
	}
}

func differ(nodes []*testNode) string {
	want, wantHeads := nodes[0].state(), nodes[0].heads()
	for _, n := range nodes[1:] {
		got := n.state()
		if len(got) != len(want) {
			return fmt.Sprintf("%s has %d objects, %s has %d", nodes[0].id, len(want), n.id, len(got))
		}
		for k, v := range want {
			if got[k] != v {
				return fmt.Sprintf("key %q: %s has %s, %s has %s", k, nodes[0].id, v, n.id, got[k])
			}
		}
		if h := n.heads(); fmt.Sprint(h) != fmt.Sprint(wantHeads) {
			return fmt.Sprintf("heads: %s %v, %s %v", nodes[0].id, wantHeads, n.id, h)
		}
	}
	return ""
}

// cluster starts n nodes that each know the others' URLs.
func cluster(tb testing.TB, count int, opts ...nodeOpt) []*testNode {
	tb.Helper()
	nodes := make([]*testNode, count)
	for i := range nodes {
		nodes[i] = newTestNode(tb, fmt.Sprintf("s%d", i+1), opts...)
	}
	for _, n := range nodes {
		for _, o := range nodes {
			if o != n {
				n.peers = append(n.peers, o.url)
			}
		}
	}
	for _, n := range nodes {
		n.start()
	}
	return nodes
}

func randBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func shaHex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
