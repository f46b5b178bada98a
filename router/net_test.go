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

func newSeedForTest() maphash.Seed { return maphash.MakeSeed() }
