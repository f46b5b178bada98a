package router

import (
	"hash/maphash"
	"net"
	"testing"
)

func listenLocal(tb testing.TB) net.Listener {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	return ln
}

// serveConns listens on a loopback port and runs handle on a goroutine
// for each connection, closing it when handle returns; the listener
// closes when the test ends.
func serveConns(tb testing.TB, handle func(net.Conn)) net.Listener {
	ln := listenLocal(tb)
	tb.Cleanup(func() { ln.Close() })
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer nc.Close()
				handle(nc)
			}()
		}
	}()
	return ln
}

func newSeedForTest() maphash.Seed { return maphash.MakeSeed() }
