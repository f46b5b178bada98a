package router

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
)

// A wait is one attempt that has sent its request to a server and waits
// for the answer's headers.
//
// Why: a server that stops answering (a hung process, a link that drops
// every packet) keeps its connections open, so an attempt already sent to
// it would wait out HeaderTimeout (30 s by default), although health
// probes find the server down within ProbeInterval + ProbeTimeout. When a
// probe fails, the server's waiting attempts are given up, and the
// request, which is idempotent, moves on to the next server. Only an
// attempt that has a healthy server left to move on to waits this way:
// the last one (one server, or the others down) waits for its answer as
// before, since a server that misses a probe may still be slow rather
// than gone.
type wait struct {
	nc     net.Conn           // the connection read with a deadline (upstream), or
	cancel context.CancelFunc // the request's context (http.Transport)
	given  bool               // under waits.mu: the server was given up meanwhile
}

// waits are a server's attempts awaiting answer headers.
type waits struct {
	gen atomic.Uint64 // giveUps so far; changed under mu

	mu  sync.Mutex
	set map[*wait]struct{}
}

// since is the number of giveUps so far: taken when the server is chosen,
// it lets add catch a giveUp that came before the attempt registered
// (while it dialed, say).
func (ws *waits) since() uint64 { return ws.gen.Load() }

// add registers w, unless the server was given up since gen (see since);
// it then reports false, and the attempt is given up at once.
func (ws *waits) add(w *wait, gen uint64) bool {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	if ws.gen.Load() != gen {
		return false
	}
	if ws.set == nil {
		ws.set = make(map[*wait]struct{})
	}
	ws.set[w] = struct{}{}
	w.given = false
	return true
}

// done ends w's wait and reports whether the server was given up
// meanwhile: its answer, if one came, is then not to be used, as the
// connection's deadline or the request's context was cut under it.
func (ws *waits) done(w *wait) bool {
	ws.mu.Lock()
	delete(ws.set, w)
	given := w.given
	ws.mu.Unlock()
	return given
}

// giveUp ends every wait, and those of attempts that chose the server
// before it and register after it (see since).
func (ws *waits) giveUp() {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	ws.gen.Add(1)
	for w := range ws.set {
		w.given = true
		if w.nc != nil {
			w.nc.SetReadDeadline(aLongTimeAgo)
		}
		if w.cancel != nil {
			w.cancel()
		}
	}
}

// errGivenUp is an attempt ended by giveUp: the server failed a health
// probe while the attempt waited. It is not counted as another failure
// of the server: the probe's was.
var errGivenUp = errors.New("server given up: it failed a health probe while the request waited")
