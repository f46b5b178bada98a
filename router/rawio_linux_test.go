package router

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

// tcpPair returns both ends of a loopback TCP connection.
func tcpPair(t *testing.T) (*net.TCPConn, *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	a, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	b := <-accepted
	if b == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	return a.(*net.TCPConn), b.(*net.TCPConn)
}

// A writev far larger than the socket buffers fills them, waits for the
// reader and goes on where it stopped: the bytes arrive whole and in
// order.
func TestRawIO_WritevWaitsForRoom(t *testing.T) {
	a, b := tcpPair(t)
	raw := newRawIO(a)
	if raw == nil {
		t.Fatal("no rawIO for a TCP connection")
	}
	head := []byte("head:")
	body := make([]byte, 16<<20)
	rand.Read(body)
	got := make(chan []byte, 1)
	go func() {
		var buf bytes.Buffer
		// Read slowly at first, so the writer meets a full socket.
		time.Sleep(50 * time.Millisecond)
		io.Copy(&buf, b)
		got <- buf.Bytes()
	}()
	n, err := raw.Writev(head, body)
	if err != nil || n != len(head)+len(body) {
		t.Fatalf("Writev = %d, %v; want %d", n, err, len(head)+len(body))
	}
	n, err = raw.Write([]byte("tail"))
	if err != nil || n != 4 {
		t.Fatalf("Write = %d, %v", n, err)
	}
	a.CloseWrite()
	want := append(append(append([]byte{}, head...), body...), "tail"...)
	if g := <-got; !bytes.Equal(g, want) {
		t.Fatalf("reader got %d bytes, want %d equal ones", len(g), len(want))
	}
}

// Read returns what is there, io.EOF at the end, and a timeout error
// (as net.Conn's does) when the read deadline passes.
func TestRawIO_ReadEOFAndDeadline(t *testing.T) {
	a, b := tcpPair(t)
	raw := newRawIO(a)

	a.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	buf := make([]byte, 64)
	_, err := raw.Read(buf)
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("read past the deadline: %v, want a timeout", err)
	}

	a.SetReadDeadline(time.Time{})
	b.Write([]byte("hello"))
	n, err := raw.Read(buf)
	if err != nil || string(buf[:n]) != "hello" {
		t.Fatalf("Read = %q, %v", buf[:n], err)
	}
	b.Close()
	if n, err := raw.Read(buf); n != 0 || err != io.EOF {
		t.Fatalf("Read after close = %d, %v; want 0, EOF", n, err)
	}
}

// A write to a connection the peer reset fails with an error instead of
// waiting.
func TestRawIO_WriteToReset(t *testing.T) {
	a, b := tcpPair(t)
	b.SetLinger(0)
	b.Close()
	raw := newRawIO(a)
	var err error
	for i := 0; i < 100 && err == nil; i++ {
		_, err = raw.Write(make([]byte, 64<<10))
		time.Sleep(time.Millisecond)
	}
	if err == nil {
		t.Fatal("writes to a reset connection kept succeeding")
	}
}

func TestRawIO_OnlyForTCP(t *testing.T) {
	p, q := net.Pipe()
	defer p.Close()
	defer q.Close()
	if newRawIO(p) != nil {
		t.Fatal("rawIO for a pipe")
	}
}
