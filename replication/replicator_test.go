package replication

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"metacdn/storage"
	"metacdn/wire"
)

func TestReplicator_WritesReachEveryPeer(t *testing.T) {
	for _, enc := range []wire.Encoding{wire.JSON, wire.Protobuf} {
		t.Run(string(enc), func(t *testing.T) {
			nodes := cluster(t, 3, withEncoding(enc))
			for i, n := range nodes {
				for j := range 5 {
					n.put(fmt.Sprintf("%s/obj-%d", n.id, j), randBytes(uint64(10*i+j), 1000+j))
				}
			}
			nodes[0].del("s1/obj-0")
			waitConverged(t, 10*time.Second, nodes...)
			if got, want := len(nodes[2].state()), 14; got != want {
				t.Fatalf("s3 holds %d objects, want %d", got, want)
			}
			if _, err := nodes[2].db.Get("s1/obj-0"); err == nil {
				t.Fatalf("deleted object is live on s3")
			}
		})
	}
}

func TestReplicator_RestartCatchesUp(t *testing.T) {
	nodes := cluster(t, 3)
	a, b, c := nodes[0], nodes[1], nodes[2]
	a.put("before", []byte("before"))
	waitConverged(t, 10*time.Second, nodes...)

	c.stop()
	for i := range 20 {
		a.put(fmt.Sprintf("a-%d", i), randBytes(uint64(i), 5000))
		b.put(fmt.Sprintf("b-%d", i), randBytes(uint64(100+i), 5000))
	}
	a.del("before")
	b.put("a-3", []byte("b overwrote a-3"))
	c.start()
	waitConverged(t, 10*time.Second, nodes...)
	if _, err := c.db.Get("before"); err == nil {
		t.Fatalf("deleted object came back on the restarted server")
	}
}

// A server that starts empty with one peer's URL gets everything written
// before it existed, and the other servers learn of it by gossip.
func TestReplicator_Bootstrap(t *testing.T) {
	nodes := cluster(t, 2)
	a, b := nodes[0], nodes[1]
	for i := range 30 {
		a.put(fmt.Sprintf("k%d", i), randBytes(uint64(i), 3000))
	}
	waitConverged(t, 10*time.Second, a, b)
	b.put("k1", []byte("b wins k1"))
	b.del("k2")
	waitConverged(t, 10*time.Second, a, b)

	d := newTestNode(t, "s4", withPeers(a.url))
	d.start()
	waitConverged(t, 10*time.Second, a, b, d)
	waitFor(t, "s2 to learn of s4", 10*time.Second, func() bool {
		for _, p := range b.rep.Peers().Peers {
			if p.ID == "s4" && p.State == StateAlive {
				return true
			}
		}
		return false
	})
	// And s4 knows s2 by id, though it was only given s1's URL.
	waitFor(t, "s4 to learn of s2", 10*time.Second, func() bool {
		for _, p := range d.rep.Peers().Peers {
			if p.ID == "s2" && p.URL == b.url {
				return true
			}
		}
		return false
	})
	b.put("after", []byte("reaches s4 by push"))
	waitConverged(t, 10*time.Second, a, b, d)
}

// Concurrent writes to one key end with the same winner everywhere.
func TestReplicator_ConcurrentWritesConverge(t *testing.T) {
	nodes := cluster(t, 3)
	done := make(chan struct{})
	for _, n := range nodes {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := range 20 {
				n.put(fmt.Sprintf("hot-%d", i%3), []byte(n.id+fmt.Sprint(i)))
			}
			// Another server's delete may have arrived first.
			if _, err := n.db.Delete("hot-0"); err != nil && !errors.Is(err, storage.ErrNotFound) {
				t.Errorf("Delete: %v", err)
			}
		}()
	}
	for range nodes {
		<-done
	}
	waitConverged(t, 10*time.Second, nodes...)
}

// A server that was down while a key was written twice cannot fetch the
// first blob (the writer freed it); it must skip that entry, not stall.
func TestReplicator_SupersededBlob(t *testing.T) {
	nodes := cluster(t, 2)
	a, b := nodes[0], nodes[1]
	b.stop()
	a.put("k", []byte("first version"))
	a.put("k", []byte("second version"))
	a.put("other", []byte("x"))
	b.start()
	waitConverged(t, 10*time.Second, a, b)
	if got := b.state()["k"]; got[:64] != shaHex([]byte("second version")) {
		t.Fatalf("k on s2 = %s, want the second version", got)
	}
}

func TestReplicator_States(t *testing.T) {
	nodes := cluster(t, 2)
	a, b := nodes[0], nodes[1]
	state := func() string {
		for _, p := range a.rep.Peers().Peers {
			if p.ID == "s2" {
				return p.State
			}
		}
		return ""
	}
	waitFor(t, "s2 alive", 10*time.Second, func() bool { return state() == StateAlive })
	b.stop()
	// suspect lasts only a few intervals: a loaded machine may poll past
	// it, so TestStateOf checks it and this waits for dead.
	waitFor(t, "s2 dead", 10*time.Second, func() bool { return state() == StateDead })
	b.start()
	waitFor(t, "s2 alive again", 10*time.Second, func() bool { return state() == StateAlive })
	p := a.rep.Peers().Peers[0]
	if p.LastHeartbeat == "" {
		t.Fatalf("alive peer without last_heartbeat: %+v", p)
	}
}

func TestStateOf(t *testing.T) {
	r := &Replicator{cfg: Config{HeartbeatInterval: time.Second, SuspectAfter: 3, DeadAfter: 10}}
	t0 := time.Unix(1000, 0)
	tests := []struct {
		name      string
		lastHeard time.Time
		now       time.Time
		want      string
	}{
		{"Fresh", t0, t0.Add(time.Second), StateAlive},
		{"JustBeforeSuspect", t0, t0.Add(2999 * time.Millisecond), StateAlive},
		{"Suspect", t0, t0.Add(3 * time.Second), StateSuspect},
		{"JustBeforeDead", t0, t0.Add(9 * time.Second), StateSuspect},
		{"Dead", t0, t0.Add(10 * time.Second), StateDead},
		{"NeverHeard", time.Time{}, t0.Add(time.Second), StateSuspect},
		{"NeverHeardLong", time.Time{}, t0.Add(10 * time.Second), StateDead},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := r.stateOf(tc.lastHeard, t0, tc.now); got != tc.want {
				t.Fatalf("stateOf = %s, want %s", got, tc.want)
			}
		})
	}
}

// Servers with different --encoding still sync: each reads what comes by
// its Content-Type and answers in kind.
func TestReplicator_MixedEncodings(t *testing.T) {
	a := newTestNode(t, "s1", withEncoding(wire.JSON))
	b := newTestNode(t, "s2", withEncoding(wire.Protobuf), withPeers(a.url))
	a.start()
	b.start()
	a.put("from-json", []byte("a"))
	b.put("from-protobuf", []byte("b"))
	waitConverged(t, 10*time.Second, a, b)
}

// GET /v1/peers reports how far behind each peer is, and the lag goes
// back to zero once it caught up.
func TestReplicator_Lag(t *testing.T) {
	nodes := cluster(t, 2)
	a, b := nodes[0], nodes[1]
	peer := func() PeerInfo {
		for _, p := range a.rep.Peers().Peers {
			if p.ID == "s2" {
				return p
			}
		}
		return PeerInfo{}
	}
	waitFor(t, "s2 alive", 10*time.Second, func() bool { return peer().State == StateAlive })
	b.stop()
	waitFor(t, "s2 dead", 10*time.Second, func() bool { return peer().State == StateDead })
	for i := range 3 {
		a.put(fmt.Sprintf("k%d", i), []byte{byte(i)})
	}
	// The lag of a dead peer grows from the heads it last reported.
	waitFor(t, "s2's lag to show 3 missed writes", 10*time.Second, func() bool {
		p := peer()
		return p.LagEntries == 3 && p.LagSeconds > 0
	})
	b.start()
	waitFor(t, "s2 to catch up and acknowledge", 10*time.Second, func() bool {
		p := peer()
		return p.LagEntries == 0 && p.LagSeconds == 0
	})
	waitConverged(t, 10*time.Second, a, b)
}
