//go:build !linux

package node

import (
	"errors"
	"syscall"
)

func setRcvLowat(syscall.RawConn, int) error {
	return errors.New("SO_RCVLOWAT is set only on Linux")
}
