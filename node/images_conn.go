package node

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"sync/atomic"
	"syscall"
	"time"

	"metacdn/scaler"
)

// connKey is the request context key of a connection's connState.
type connKey struct{}

// connState is what the image service keeps per client connection: the
// socket, for reading TCP_INFO while and after answering, and how many
// acknowledged bytes were already learnt from, so that one delivery is
// not counted twice.
type connState struct {
	conn    net.Conn
	learned atomic.Uint64 // tcpi_bytes_acked at the last observation
}

// connContext is the http.Server's ConnContext: it puts the accepted
// connection into every request context of that connection.
func connContext(ctx context.Context, c net.Conn) context.Context {
	return context.WithValue(ctx, connKey{}, &connState{conn: c})
}

// rawConn returns the TCP socket under a request, if there is one.
func rawConn(r *http.Request) (*connState, syscall.Conn, bool) {
	cs, ok := r.Context().Value(connKey{}).(*connState)
	if !ok {
		return nil, nil, false
	}
	c := cs.conn
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	sc, ok := c.(syscall.Conn)
	return cs, sc, ok
}

// clientKey names a client for the Estimator: its IP, as a phone's
// connections come from one address but many ports.
func clientKey(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// learnTCP feeds the kernel's view of the request's connection to the
// Estimator when the connection has delivered at least
// scaler.MinObserveBytes since it was last learnt from: fewer bytes are
// over before TCP leaves slow start and measure the round trip, not the
// link. It reports whether it learnt something.
func (s *imageService) learnTCP(client string, cs *connState, st tcpStats) bool {
	if !st.ok || st.deliveryRate == 0 {
		return false
	}
	last := cs.learned.Load()
	if st.bytesAcked < last+scaler.MinObserveBytes || !cs.learned.CompareAndSwap(last, st.bytesAcked) {
		return false
	}
	s.est.ObserveTCP(client, st.deliveryRate, st.rtt)
	return true
}

// observe learns from an image answer of size bytes whose body started at
// start. The handler does not wait for the client: a watcher follows the
// socket until the kernel has sent everything and seen it acknowledged
// (or a bound passes), then feeds the delivery rate and the elapsed time
// to the Estimator. Without TCP_INFO the time to write the body is all
// there is.
func (s *imageService) observe(r *http.Request, bytes int64, start time.Time) {
	if r.Method != http.MethodGet || r.Header.Get("Range") != "" || bytes < scaler.MinObserveBytes {
		return
	}
	client := clientKey(r)
	cs, sc, ok := rawConn(r)
	var first tcpStats
	if ok {
		first = readTCP(sc)
	}
	if !first.ok {
		s.est.Observe(client, bytes, time.Since(start))
		return
	}
	if delivered(first) {
		if s.learnTCP(client, cs, first) {
			s.est.Observe(client, bytes, time.Since(start))
		}
		return
	}
	select {
	case s.watchers <- struct{}{}:
	default:
		// Enough being watched: learn what has been delivered so far.
		s.learnTCP(client, cs, first)
		return
	}
	ok = s.spawn(func() {
		defer func() { <-s.watchers }()
		s.watchDelivery(client, cs, sc, bytes, start, first)
	})
	if !ok {
		<-s.watchers
	}
}

// delivered reports whether everything written has been acknowledged.
func delivered(st tcpStats) bool { return st.unacked == 0 && st.notSent == 0 }

// Bounds of a delivery watch.
const (
	watchFirst = 2 * time.Millisecond
	watchMax   = 100 * time.Millisecond // longest pause between reads
	watchLimit = 30 * time.Second       // give up on a stalled client
)

// watchDelivery reads the socket until the answer is acknowledged in full,
// starting from last, the read taken as the handler finished writing.
func (s *imageService) watchDelivery(client string, cs *connState, sc syscall.Conn, bytes int64, start time.Time, last tcpStats) {
	t := time.NewTimer(watchFirst)
	defer t.Stop()
	pause := watchFirst
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
		}
		st := readTCP(sc)
		if !st.ok {
			// Closed: a client making one request per connection closes
			// it as soon as the last byte is in, often before a read sees
			// everything acknowledged. The last read, at most watchMax
			// old, still carries a rate of this response's delivery.
			s.learnTCP(client, cs, last)
			return
		}
		last = st
		if delivered(st) {
			if s.learnTCP(client, cs, st) {
				s.est.Observe(client, bytes, time.Since(start))
			}
			return
		}
		if time.Since(start) > watchLimit {
			s.learnTCP(client, cs, st)
			return
		}
		pause = min(2*pause, watchMax)
		t.Reset(pause)
	}
}
