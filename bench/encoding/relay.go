package main

import (
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
)

// Relay is a TCP relay on loopback that counts the bytes it carries each
// way: the bytes on the wire of every HTTP request and answer (headers
// included) that pass through it.
type Relay struct {
	ln       net.Listener
	upstream string
	up, down atomic.Int64 // client to upstream, upstream to client

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

// StartRelay listens on a free loopback port and forwards every
// connection to upstream.
func StartRelay(upstream string) (*Relay, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("relay: %w", err)
	}
	r := &Relay{ln: ln, upstream: upstream, conns: map[net.Conn]struct{}{}}
	r.wg.Add(1)
	go func() { defer r.wg.Done(); r.accept() }()
	return r, nil
}

// Addr is the relay's HOST:PORT.
func (r *Relay) Addr() string { return r.ln.Addr().String() }

// Counts returns the bytes carried so far toward upstream and back.
func (r *Relay) Counts() (up, down int64) { return r.up.Load(), r.down.Load() }

// Total is all bytes carried so far, both ways.
func (r *Relay) Total() int64 { return r.up.Load() + r.down.Load() }

// Close stops accepting, cuts every connection and waits for the copiers.
func (r *Relay) Close() error {
	err := r.ln.Close()
	r.mu.Lock()
	r.closed = true
	for c := range r.conns {
		c.Close()
	}
	r.mu.Unlock()
	r.wg.Wait()
	return err
}

func (r *Relay) accept() {
	for {
		c, err := r.ln.Accept()
		if err != nil {
			return
		}
		r.wg.Add(1)
		go func() { defer r.wg.Done(); r.serve(c) }()
	}
}

func (r *Relay) track(c net.Conn, on bool) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if on {
		if r.closed {
			c.Close()
			return false
		}
		r.conns[c] = struct{}{}
		return true
	}
	delete(r.conns, c)
	return true
}

func (r *Relay) serve(c net.Conn) {
	defer c.Close()
	u, err := net.Dial("tcp", r.upstream)
	if err != nil {
		return
	}
	defer u.Close()
	r.track(c, true)
	r.track(u, true)
	defer r.track(c, false)
	defer r.track(u, false)
	done := make(chan struct{})
	go func() {
		defer close(done)
		copyCount(u, c, &r.up)
		closeWrite(u)
	}()
	copyCount(c, u, &r.down)
	closeWrite(c)
	<-done
}

// copyCount copies like io.Copy but counts as it goes, so that a reader
// of the counters mid-transfer sees the bytes already moved.
func copyCount(dst io.Writer, src io.Reader, n *atomic.Int64) {
	buf := make([]byte, 64<<10)
	for {
		k, err := src.Read(buf)
		if k > 0 {
			// Count before passing the bytes on: once they are written the
			// other side may answer, and a caller that reads the counters
			// after the answer must find them counted.
			n.Add(int64(k))
			if _, werr := dst.Write(buf[:k]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func closeWrite(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		tc.CloseWrite()
	}
}
