//go:build linux

package scaler

import (
	"io"
	"net"
	"testing"
)

// TestTCPInfo reads TCP_INFO from a real loopback connection after sending
// data across it: the kernel must report a delivery rate and a round trip.
func TestTCPInfo(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		defer c.Close()
		_, err = io.Copy(io.Discard, c)
		done <- err
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1<<20)
	for i := 0; i < 8; i++ {
		if _, err := c.Write(buf); err != nil {
			t.Fatal(err)
		}
	}
	rate, rtt, ok := TCPInfoConn(c.(*net.TCPConn))
	if !ok {
		t.Fatal("TCPInfoConn not ok on a TCP socket")
	}
	if rate == 0 || rtt <= 0 {
		t.Fatalf("TCPInfoConn rate=%d rtt=%v, want both positive", rate, rtt)
	}
	t.Logf("loopback delivery rate %d B/s, rtt %v", rate, rtt)

	e := NewEstimator(0)
	e.ObserveTCP("127.0.0.1", rate, rtt)
	if got := e.Estimate("127.0.0.1"); got.Source != SourceTCPInfo || got.BytesPerSec != float64(rate) {
		t.Fatalf("Estimate after ObserveTCP: %+v", got)
	}

	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	// Not a TCP socket: a UDP one.
	u, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	if _, _, ok := TCPInfoConn(u.(*net.UDPConn)); ok {
		t.Fatal("TCPInfoConn ok on a UDP socket")
	}
}
