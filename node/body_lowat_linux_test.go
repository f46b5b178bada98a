package node

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"
)

// rcvLowat reads the socket's SO_RCVLOWAT.
func rcvLowat(tb testing.TB, c *net.TCPConn) int {
	tb.Helper()
	raw, err := c.SyscallConn()
	if err != nil {
		tb.Fatal(err)
	}
	var v int
	var serr error
	if err := raw.Control(func(fd uintptr) {
		v, serr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVLOWAT)
	}); err != nil {
		tb.Fatal(err)
	}
	if serr != nil {
		tb.Fatal(serr)
	}
	return v
}

// tcpPair returns the two ends of a loopback TCP connection.
func tcpPair(tb testing.TB) (client, server *net.TCPConn) {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		tb.Fatal(err)
	}
	s, err := ln.Accept()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close(); s.Close() })
	return c.(*net.TCPConn), s.(*net.TCPConn)
}

// bodyRequest is a request whose body is read from the server end of a
// real socket, as net/http's would be.
func bodyRequest(server *net.TCPConn, size int64) *http.Request {
	r := httptest.NewRequest(http.MethodPut, "/v1/objects/a", io.LimitReader(server, size))
	r.ContentLength = size
	ctx := context.WithValue(context.Background(), connKey{}, &connState{conn: server})
	return r.WithContext(ctx)
}

func TestIdleBody_LowWaterMark(t *testing.T) {
	n := &Node{}
	t.Run("bulk body", func(t *testing.T) {
		client, server := tcpPair(t)
		const size = 5<<20 + 123
		want := make([]byte, size)
		rand.Read(want)
		go client.Write(want)

		body := n.idleBody(httptest.NewRecorder(), bodyRequest(server, size))
		var got bytes.Buffer
		buf := make([]byte, 256<<10)
		marks := map[int]bool{}
		for {
			k, err := body.Read(buf)
			got.Write(buf[:k])
			marks[rcvLowat(t, server)] = true
			left := size - got.Len()
			// The kernel reports its default as 0 or 1; either wakes a
			// read for any byte.
			// Unless the valve dropped the mark (a read waited over
			// lowatPatience for the sending goroutine), it is set while
			// 2 MiB are to come.
			bulk := body.(*idleReader).sock != nil
			if mark := rcvLowat(t, server); bulk && left >= 2*bulkLowat && mark != bulkLowat || left < bulkLowat && mark > 1 {
				t.Fatalf("%d bytes left: mark %d", left, mark)
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		if !bytes.Equal(got.Bytes(), want) {
			t.Fatal("body read in bulk differs from what was sent")
		}
		if !marks[bulkLowat] {
			t.Fatalf("the mark was never set: saw %v", marks)
		}
		body.Close()
		if mark := rcvLowat(t, server); mark > 1 {
			t.Fatalf("mark %d after the body, want 1", mark)
		}
	})
	t.Run("handler stops early", func(t *testing.T) {
		client, server := tcpPair(t)
		go client.Write(make([]byte, 1<<20))
		body := n.idleBody(httptest.NewRecorder(), bodyRequest(server, 8<<20))
		if _, err := io.ReadFull(body, make([]byte, 64<<10)); err != nil {
			t.Fatal(err)
		}
		if mark := rcvLowat(t, server); body.(*idleReader).sock != nil && mark != bulkLowat {
			t.Fatalf("mark %d while reading, want %d", mark, bulkLowat)
		}
		body.Close()
		if mark := rcvLowat(t, server); mark > 1 {
			t.Fatalf("mark %d after Close, want 1: the connection's next request would wait", mark)
		}
	})
	t.Run("slow sender", func(t *testing.T) {
		// A read waits with the mark set; the client then sends less than
		// the mark and pauses. The valve must hand those bytes to the
		// read within lowatPatience, not when the client goes on.
		client, server := tcpPair(t)
		// Without the valve the read would wait for bytes that never
		// come: the deadline fails it instead of the test hanging.
		server.SetReadDeadline(time.Now().Add(3 * time.Second))
		body := n.idleBody(httptest.NewRecorder(), bodyRequest(server, 8<<20))
		go func() {
			time.Sleep(50 * time.Millisecond)
			client.Write(make([]byte, 300<<10))
		}()
		start := time.Now()
		k, err := body.Read(make([]byte, 1<<20))
		if err != nil || k == 0 {
			t.Fatalf("read: %d bytes, %v", k, err)
		}
		if waited := time.Since(start); waited > 2*time.Second {
			t.Fatalf("the read waited %v for a mark the sender was not filling", waited)
		}
		if body.(*idleReader).sock != nil {
			t.Fatal("bulk reading goes on after the valve dropped the mark")
		}
		if mark := rcvLowat(t, server); mark > 1 {
			t.Fatalf("mark %d after the valve, want the default", mark)
		}
		body.Close()
	})
	t.Run("small body", func(t *testing.T) {
		client, server := tcpPair(t)
		go client.Write(make([]byte, 2*bulkLowat-1))
		before := rcvLowat(t, server)
		body := n.idleBody(httptest.NewRecorder(), bodyRequest(server, 2*bulkLowat-1))
		if _, err := io.Copy(io.Discard, body); err != nil {
			t.Fatal(err)
		}
		if mark := rcvLowat(t, server); mark != before {
			t.Fatalf("mark %d for a small body, want the socket's default %d", mark, before)
		}
	})
}
