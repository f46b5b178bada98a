package node

import (
	"errors"
	"io"
	"net/http"
	"os"
	"syscall"
	"time"
)

// idleBody returns r's body with a read deadline that moves forward on
// every read: a client that sends nothing for BodyIdleTimeout gets its read
// failed (and a 408), whatever the body's size. The caller closes it.
//
// A large body of known length is read in bulk: the socket's low-water
// mark (SO_RCVLOWAT) makes a read that waits for bytes wake once
// bulkLowat of them have come instead of for every segment. Over
// loopback a 64 MiB curl -T woke a bare reader 780-1,380 times, 170-230
// with the mark, and took 7-11 ms of its CPU instead of 19-30 (see
// docs/benchmarks.md, "Uploads: bodies read in bulk").
func (n *Node) idleBody(w http.ResponseWriter, r *http.Request) io.ReadCloser {
	ir := &idleReader{r: r.Body, rc: http.NewResponseController(w), idle: n.bodyIdle(), left: r.ContentLength}
	// HTTP/1 only: an HTTP/2 connection carries other streams, whose
	// bytes must not wait for this body's.
	if r.ProtoMajor == 1 && r.ContentLength > 2*bulkLowat {
		if _, sc, ok := rawConn(r); ok {
			if raw, err := sc.SyscallConn(); err == nil {
				ir.sock = raw
			}
		}
	}
	return ir
}

func (n *Node) bodyIdle() time.Duration {
	if n.cfg.BodyIdleTimeout <= 0 {
		return DefaultBodyIdleTimeout
	}
	return n.cfg.BodyIdleTimeout
}

// bulkLowat is the low-water mark of a body read in bulk. It is set only
// while at least twice as many bytes are to come: net/http's connection
// buffer (4 KiB) may hold some of them, and a mark above what the socket
// will still get would leave the read waiting for its deadline.
const bulkLowat = 1 << 20

// lowatPatience is how long a read may wait for the mark. A sender of 50
// MB/s fills it sooner; a slower one would keep the reader asleep while
// its bytes come in, past the idle deadline for a client sending under a
// megabyte a minute. So a read that waits longer drops the mark (the
// kernel then wakes it for the bytes already there), and the rest of the
// body is read without one.
const lowatPatience = 20 * time.Millisecond

// lowatFor is the low-water mark for a body with left bytes to read; 0
// means the kernel's default, a wakeup for any byte.
func lowatFor(left int64) int {
	if left < 2*bulkLowat {
		return 0
	}
	return bulkLowat
}

type idleReader struct {
	r    io.ReadCloser
	rc   *http.ResponseController
	idle time.Duration
	last time.Time // when the deadline was last moved

	sock  syscall.RawConn // the socket, when reading in bulk
	left  int64           // body bytes not yet read
	lowat int             // the socket's mark as last set; 0 is the default
	valve *time.Timer     // drops the mark when a read waits too long
	blown chan struct{}   // a token each time valve drops the mark
}

func (ir *idleReader) Read(p []byte) (int, error) {
	// Moving the deadline costs a timer update; once per read of a large
	// buffer is nothing, but small reads need not move it every time.
	if now := time.Now(); now.Sub(ir.last) > ir.idle/64 {
		if err := ir.rc.SetReadDeadline(now.Add(ir.idle)); err != nil && !errors.Is(err, http.ErrNotSupported) {
			return 0, err
		}
		ir.last = now
	}
	if ir.sock != nil {
		ir.setLowat(lowatFor(ir.left))
	}
	if ir.lowat == 0 {
		n, err := ir.r.Read(p)
		ir.left -= int64(n)
		return n, malformedBody(err)
	}
	ir.armValve()
	n, err := ir.r.Read(p)
	ir.left -= int64(n)
	if !ir.valve.Stop() {
		// The valve dropped the mark: the sender is slower than bulk.
		<-ir.blown
		ir.lowat, ir.sock = 0, nil
	}
	return n, malformedBody(err)
}

// malformedBody marks a body read's failure that is the client's doing
// and has no answer of its own (a chunk length that is not hex, a chunk
// too long: net/http's chunked reader; a connection the client reset), so
// that it is answered 400 rather than taken for the server's fault. The end of the body, a body cut short
// (bodyError), the idle deadline and the size limit pass unchanged.
func malformedBody(err error) error {
	var mbe *http.MaxBytesError
	switch {
	case err == nil, err == io.EOF, errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, os.ErrDeadlineExceeded), errors.As(err, &mbe):
		return err
	}
	return errStatus(http.StatusBadRequest, "reading the request body failed", err)
}

// armValve starts the timer that drops the mark if the next read waits
// longer than lowatPatience.
func (ir *idleReader) armValve() {
	if ir.valve != nil {
		ir.valve.Reset(lowatPatience)
		return
	}
	sock := ir.sock
	ir.blown = make(chan struct{}, 1)
	ir.valve = time.AfterFunc(lowatPatience, func() {
		// Setting the mark makes the kernel check at once whether the
		// bytes queued wake the reader.
		_ = setRcvLowat(sock, 1)
		ir.blown <- struct{}{}
	})
}

// setLowat sets the socket's low-water mark to v (0: the default). A
// socket that refuses is read without one.
func (ir *idleReader) setLowat(v int) {
	if v == ir.lowat {
		return
	}
	if err := setRcvLowat(ir.sock, max(v, 1)); err != nil {
		ir.sock = nil
		return
	}
	ir.lowat = v
}

// Close puts the socket's mark back, for the connection's next request,
// when the handler stops before the body's end.
func (ir *idleReader) Close() error {
	if ir.sock != nil {
		ir.setLowat(0)
	}
	return ir.r.Close()
}

var errBodyIdle = errStatus(http.StatusRequestTimeout, "the client sent nothing for too long in the middle of its body", nil)

// bodyError turns the failures of reading a request body into answers: a
// body cut short is a 400, a client gone silent (idleBody) a 408.
func bodyError(err error) error {
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errTruncated
	case errors.Is(err, os.ErrDeadlineExceeded):
		return errBodyIdle
	}
	return err
}
