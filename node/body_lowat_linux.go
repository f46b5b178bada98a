package node

import "syscall"

// setRcvLowat sets the socket's SO_RCVLOWAT: the bytes that must be
// queued before a read waiting on the socket is woken.
func setRcvLowat(rc syscall.RawConn, n int) error {
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVLOWAT, n)
	}); err != nil {
		return err
	}
	return serr
}
