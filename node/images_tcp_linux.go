//go:build linux

package node

import (
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// tcpStats is the part of TCP_INFO the image service reads. scaler.TCPInfo
// gives the rate and round trip; the watcher also needs to know when a
// response has been acknowledged in full.
type tcpStats struct {
	ok           bool
	deliveryRate uint64 // bytes/s of the most recent acknowledged data
	rtt          time.Duration
	bytesAcked   uint64
	unacked      uint32 // segments in flight
	notSent      uint32 // bytes queued but not yet sent
}

// readTCP reads TCP_INFO of sc; ok is false for a closed or non-TCP
// socket.
func readTCP(sc syscall.Conn) tcpStats {
	raw, err := sc.SyscallConn()
	if err != nil {
		return tcpStats{}
	}
	var st tcpStats
	err = raw.Control(func(fd uintptr) {
		info, err := unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO)
		if err != nil {
			return
		}
		rtt := info.Rtt
		if rtt == 0 {
			rtt = info.Min_rtt
		}
		st = tcpStats{
			ok: true, deliveryRate: info.Delivery_rate, rtt: time.Duration(rtt) * time.Microsecond,
			bytesAcked: info.Bytes_acked, unacked: info.Unacked, notSent: info.Notsent_bytes,
		}
	})
	if err != nil {
		return tcpStats{}
	}
	return st
}
