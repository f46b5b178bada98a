package router

import (
	"io"
	"net"
	"syscall"
	"unsafe"
)

// rawIO reads and writes a TCP connection with raw system calls through
// its syscall.RawConn, so the Go scheduler does not see them as system
// calls. The socket is non-blocking, so none of them waits: a read or
// write that would block returns EAGAIN and the goroutine parks on the
// runtime's poller as net.Conn's own methods do (deadlines included).
//
// Why: a proxied small request is four short system calls. Entering each
// through the scheduler's syscall path lets sysmon, which then wakes every
// 20 µs, find a processor "in a system call" during a long loopback write
// and hand it to another thread. Measured with perf stat on the proxy at
// 10 KiB: about 2,400 thread migrations and 48,000 context switches per
// second, against nginx's 15 and 33,000 (router/README.md, "Hot path").
type rawIO struct {
	rc syscall.RawConn

	// The closures are made once per connection: passing a fresh one to
	// RawConn on every call would allocate.
	readFn, writevFn func(fd uintptr) bool

	p      []byte
	iov    []syscall.Iovec
	iovArr [2]syscall.Iovec
	n      int
	errno  syscall.Errno
}

// newRawIO returns nil when nc is not a plain TCP connection (TLS, a
// test's pipe): the caller then uses nc itself.
func newRawIO(nc net.Conn) *rawIO {
	tc, ok := nc.(*net.TCPConn)
	if !ok {
		return nil
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return nil
	}
	r := &rawIO{rc: rc}
	r.readFn = r.read
	r.writevFn = r.writev
	return r
}

func (r *rawIO) read(fd uintptr) bool {
	for {
		n, _, e := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(unsafe.SliceData(r.p))), uintptr(len(r.p)))
		switch e {
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false
		}
		r.n, r.errno = int(n), e
		return true
	}
}

// Read reads once, as net.Conn's Read does.
func (r *rawIO) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	r.p, r.n, r.errno = p, 0, 0
	err := r.rc.Read(r.readFn)
	r.p = nil
	if err != nil {
		return 0, err
	}
	if r.errno != 0 {
		return 0, &net.OpError{Op: "read", Net: "tcp", Err: r.errno}
	}
	if r.n == 0 {
		return 0, io.EOF
	}
	return r.n, nil
}

// Write writes all of p, as net.Conn's Write does.
func (r *rawIO) Write(p []byte) (int, error) { return r.Writev(p, nil) }

// result is what a call returns once RawConn has run its function: the
// bytes moved, and RawConn's own error (a deadline, a closed connection)
// or the system call's.
func (r *rawIO) result(op string, err error) (int, error) {
	if err != nil {
		return r.n, err
	}
	if r.errno != 0 {
		return r.n, &net.OpError{Op: op, Net: "tcp", Err: r.errno}
	}
	return r.n, nil
}

// writev writes r.iov, dropping what went out, until all has.
func (r *rawIO) writev(fd uintptr) bool {
	for len(r.iov) > 0 {
		n, _, e := syscall.RawSyscall(syscall.SYS_WRITEV, fd, uintptr(unsafe.Pointer(unsafe.SliceData(r.iov))), uintptr(len(r.iov)))
		switch e {
		case 0:
			r.n += int(n)
			for n > 0 && len(r.iov) > 0 {
				l := uintptr(r.iov[0].Len)
				if n < l {
					r.iov[0].Base = (*byte)(unsafe.Add(unsafe.Pointer(r.iov[0].Base), n))
					r.iov[0].SetLen(int(l - n))
					break
				}
				n -= l
				r.iov = r.iov[1:]
			}
		case syscall.EINTR:
		case syscall.EAGAIN:
			return false
		default:
			r.errno = e
			return true
		}
	}
	return true
}

// Writev writes a and then b in one system call when the socket takes
// both at once.
func (r *rawIO) Writev(a, b []byte) (int, error) {
	k := 0
	for _, p := range [2][]byte{a, b} {
		if len(p) > 0 {
			r.iovArr[k].Base = unsafe.SliceData(p)
			r.iovArr[k].SetLen(len(p))
			k++
		}
	}
	r.iov, r.n, r.errno = r.iovArr[:k], 0, 0
	err := r.rc.Write(r.writevFn)
	r.iov, r.iovArr = nil, [2]syscall.Iovec{}
	return r.result("writev", err)
}
