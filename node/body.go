package node

import (
	"errors"
	"io"
	"net/http"
	"os"
	"time"
)

// idleBody returns r's body with a read deadline that moves forward on
// every read: a client that sends nothing for BodyIdleTimeout gets its read
// failed (and a 408), whatever the body's size.
func (n *Node) idleBody(w http.ResponseWriter, r *http.Request) io.ReadCloser {
	idle := n.cfg.BodyIdleTimeout
	if idle <= 0 {
		idle = DefaultBodyIdleTimeout
	}
	return &idleReader{r: r.Body, rc: http.NewResponseController(w), idle: idle}
}

type idleReader struct {
	r    io.ReadCloser
	rc   *http.ResponseController
	idle time.Duration
	last time.Time // when the deadline was last moved
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
	return ir.r.Read(p)
}

func (ir *idleReader) Close() error { return ir.r.Close() }

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
