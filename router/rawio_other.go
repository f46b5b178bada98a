//go:build !linux

package router

import "net"

// rawIO exists on Linux only; elsewhere connections use net.Conn's own
// methods.
type rawIO struct{}

func newRawIO(net.Conn) *rawIO { return nil }

func (*rawIO) Read([]byte) (int, error)        { panic("rawIO: not on this system") }
func (*rawIO) Write([]byte) (int, error)       { panic("rawIO: not on this system") }
func (*rawIO) Writev(a, b []byte) (int, error) { panic("rawIO: not on this system") }
