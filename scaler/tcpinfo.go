package scaler

import (
	"syscall"
	"time"
)

// TCPInfoConn is TCPInfo for a connection such as *net.TCPConn, which
// implements syscall.Conn; it holds the descriptor open while reading it.
func TCPInfoConn(c syscall.Conn) (deliveryRate uint64, rtt time.Duration, ok bool) {
	raw, err := c.SyscallConn()
	if err != nil {
		return 0, 0, false
	}
	err = raw.Control(func(fd uintptr) {
		deliveryRate, rtt, ok = TCPInfo(fd)
	})
	if err != nil {
		return 0, 0, false
	}
	return deliveryRate, rtt, ok
}
