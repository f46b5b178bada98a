//go:build linux

package scaler

import (
	"time"

	"golang.org/x/sys/unix"
)

// TCPInfo reads the kernel's view of the TCP connection on socket fd: the
// delivery rate in bytes per second (the rate at which recent data was
// acknowledged) and the smoothed round trip time. ok is false when fd is
// not a TCP socket or the kernel does not report a rate.
//
// Call it inside syscall.RawConn.Control (see TCPInfoConn) so that fd stays
// valid.
func TCPInfo(fd uintptr) (deliveryRate uint64, rtt time.Duration, ok bool) {
	info, err := unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO)
	if err != nil {
		return 0, 0, false
	}
	rtt = time.Duration(info.Rtt) * time.Microsecond
	if rtt == 0 {
		rtt = time.Duration(info.Min_rtt) * time.Microsecond
	}
	return info.Delivery_rate, rtt, true
}
