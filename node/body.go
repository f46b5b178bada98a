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
func (n *Node) idleBody(w http.ResponseWriter, r *http.Request) io.Reader {
	idle := n.cfg.BodyIdleTimeout
	if idle <= 0 {
		idle = DefaultBodyIdleTimeout
	}
	return &idleReader{r: r.Body, rc: http.NewResponseController(w), idle: idle}
}

type idleReader struct {
	r    io.Reader
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

var errBodyIdle = errStatus(http.StatusRequestTimeout, "the client sent nothing for too long; GET /v1/upload/{id} tells where a session can resume", nil)

// idleError turns a read that hit the idle deadline into a 408.
func idleError(err error) error {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return errBodyIdle
	}
	return err
}
