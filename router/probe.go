package router

import (
	"context"
	"io"
	"net/http"
	"net/http/httptrace"
	"sync"
	"time"
)

// maxProbes bounds the probes in flight at once.
const maxProbes = 32

// ProbeAll probes every known server once and waits for the answers.
func (rt *Router) ProbeAll(ctx context.Context) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, maxProbes)
	for _, s := range rt.table.Load().servers {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			rt.probe(ctx, s)
		}()
	}
	wg.Wait()
}

// probe sends GET /healthz. A 2xx answer feeds the RTT figures and may end
// an ejection whose time is over; anything else is a failure. Only
// round trips on a reused connection count as RTT samples, so a connect
// or TLS handshake does not pass for latency: a fresh connection is
// probed again at once.
func (rt *Router) probe(ctx context.Context, s *Server) {
	for try := 0; try < 2; try++ {
		rtt, reused, err := rt.probeOnce(ctx, s)
		if ctx.Err() != nil {
			return // shutting down: not the server's fault
		}
		if err != nil {
			rt.probeFailed(s, err)
			return
		}
		if reused {
			s.st.observeRTT(rtt, rt.cfg.Alpha)
			s.st.probeOK(rt.now())
			return
		}
	}
	// Two fresh connections in a row: the server does not keep them alive,
	// so a fresh connection is what requests pay too.
	rtt, _, err := rt.probeOnce(ctx, s)
	if ctx.Err() != nil {
		return
	}
	if err != nil {
		rt.probeFailed(s, err)
		return
	}
	s.st.observeRTT(rtt, rt.cfg.Alpha)
	s.st.probeOK(rt.now())
}

// probeFailed ejects s and gives up the attempts waiting for its answers
// (see wait).
func (rt *Router) probeFailed(s *Server, err error) {
	s.st.fail(rt.now(), rt.cfg.EjectBase, rt.cfg.EjectMax)
	s.waits.giveUp()
	rt.log.Debug("probe failed", "server", s.ID, "err", err)
}

func (rt *Router) probeOnce(ctx context.Context, s *Server) (time.Duration, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, rt.cfg.ProbeTimeout)
	defer cancel()
	reused := false
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		GotConn: func(i httptrace.GotConnInfo) { reused = i.Reused },
	})
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, trimSlash(s.URL)+"/healthz", nil)
	if err != nil {
		return 0, false, err
	}
	start := time.Now()
	resp, err := rt.transport.RoundTrip(req)
	if err != nil {
		return 0, false, err
	}
	_, err = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	d := time.Since(start)
	if err != nil {
		return 0, false, err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return 0, false, &statusError{code: resp.StatusCode}
	}
	return d, reused, nil
}

type statusError struct{ code int }

func (e *statusError) Error() string { return http.StatusText(e.code) }

func (e *statusError) Unwrap() error { return ErrUnexpectedStatus }

// probeLoop probes each server every ProbeInterval, and an ejected one
// as soon as its ejection time is over, so that it returns promptly.
func (rt *Router) probeLoop(ctx context.Context) {
	tick := rt.cfg.ProbeInterval / 4
	if eb := rt.cfg.EjectBase / 4; eb < tick {
		tick = eb
	}
	tick = max(tick, 10*time.Millisecond)
	tk := time.NewTicker(tick)
	defer tk.Stop()
	next := map[*Server]time.Time{}
	busy := map[*Server]bool{}
	done := make(chan *Server, maxProbes)
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		select {
		case <-ctx.Done():
			return
		case s := <-done:
			delete(busy, s)
		case <-tk.C:
			now := rt.now()
			servers := rt.table.Load().servers
			live := make(map[*Server]bool, len(servers))
			for _, s := range servers {
				live[s] = true
				if busy[s] || len(busy) >= maxProbes {
					continue
				}
				due := !now.Before(next[s])
				if u := s.st.ejectedUntil.Load(); u != 0 && now.UnixNano() >= u {
					due = true
				}
				if !due {
					continue
				}
				next[s] = now.Add(rt.cfg.ProbeInterval)
				busy[s] = true
				wg.Add(1)
				go func() {
					defer wg.Done()
					rt.probe(ctx, s)
					done <- s
				}()
			}
			for s := range next {
				if !live[s] && !busy[s] {
					delete(next, s)
				}
			}
		}
	}
}
