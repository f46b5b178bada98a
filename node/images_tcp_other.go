//go:build !linux

package node

import (
	"syscall"
	"time"
)

// tcpStats is the part of TCP_INFO the image service reads; only Linux
// reports it, elsewhere the Estimator times responses instead.
type tcpStats struct {
	ok           bool
	deliveryRate uint64
	rtt          time.Duration
	bytesAcked   uint64
	unacked      uint32
	notSent      uint32
}

func readTCP(sc syscall.Conn) tcpStats { return tcpStats{} }
