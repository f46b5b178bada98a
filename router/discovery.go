package router

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// peerJSON is the part of wire.Peer the proxy reads. It is decoded with
// encoding/json, which ignores the fields a server may add, rather than
// the strict wire codec.
type peerJSON struct {
	ID       string `json:"id"`
	URL      string `json:"url"`
	Provider string `json:"provider"`
	State    string `json:"state"`
	Removed  bool   `json:"removed"`
}

type peerListJSON struct {
	Self  *peerJSON  `json:"self"`
	Peers []peerJSON `json:"peers"`
}

// dropAfter is how many refreshes in a row may omit a server before the
// proxy forgets it: a freshly restarted server may not know every peer
// yet, and forgetting would throw away the measurements.
const dropAfter = 3

// maxPeerListBytes bounds a /v1/peers answer.
const maxPeerListBytes = 4 << 20

// Discover asks the known servers, healthy ones first and the seeds last,
// for the peer list and applies the first answer.
func (rt *Router) Discover(ctx context.Context) error {
	if len(rt.cfg.Seeds) == 0 {
		return nil // a static list only: nothing to discover
	}
	var tried []string
	seen := map[string]bool{}
	try := func(base string) (bool, error) {
		if seen[base] {
			return false, nil
		}
		seen[base] = true
		tried = append(tried, base)
		pl, err := rt.fetchPeers(ctx, base)
		if err != nil {
			rt.log.Debug("peer list", "server", base, "err", err)
			return false, err
		}
		rt.mu.Lock()
		rt.applyPeers(pl)
		rt.mu.Unlock()
		return true, nil
	}
	var last error
	for _, s := range rt.table.Load().servers {
		if s.candidate() && s.ClusterState() != stateStatic {
			if ok, err := try(s.URL); ok {
				return nil
			} else if err != nil {
				last = err
			}
		}
	}
	for _, seed := range rt.cfg.Seeds {
		if ok, err := try(seed); ok {
			return nil
		} else if err != nil {
			last = err
		}
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return fmt.Errorf("discover from %v: %w (last: %v)", tried, ErrDiscovery, last)
}

func (rt *Router) fetchPeers(ctx context.Context, base string) (*peerListJSON, error) {
	ctx, cancel := context.WithTimeout(ctx, rt.cfg.ProbeTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, trimSlash(base)+"/v1/peers", nil)
	if err != nil {
		return nil, fmt.Errorf("peer list: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := rt.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("peer list: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("peer list: %w %d", ErrUnexpectedStatus, resp.StatusCode)
	}
	var pl peerListJSON
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxPeerListBytes)).Decode(&pl); err != nil {
		return nil, fmt.Errorf("peer list: decode: %w", err)
	}
	if pl.Self == nil && len(pl.Peers) == 0 {
		return nil, fmt.Errorf("peer list: %w: empty", ErrUnexpectedStatus)
	}
	return &pl, nil
}

const stateStatic = "static"

// applyPeers installs a new table from pl (nil: static servers only).
// Servers whose id, URL and provider are unchanged keep their *Server and
// so their measurements. Caller holds rt.mu.
func (rt *Router) applyPeers(pl *peerListJSON) {
	old := rt.table.Load()
	next := make([]*Server, 0, len(old.servers)+1)
	listed := map[string]bool{}
	add := func(id, u, provider, state string) {
		if id == "" || u == "" || listed[id] {
			return
		}
		if checkURL(u) != nil {
			rt.log.Warn("peer with unusable url", "peer", id, "url", u)
			return
		}
		listed[id] = true
		if s := old.byID[id]; s != nil && s.URL == u && s.Provider == provider {
			s.clusterState.Store(&state)
			s.missing = 0
			next = append(next, s)
			return
		}
		s, err := newServer(id, u, provider, state)
		if err != nil {
			return
		}
		s.met = rt.met.forServer(id)
		if !rt.cfg.StdTransport && s.base.Scheme == "http" {
			s.fast = newUpstream(s.base.Host, rt.dialer, rt.cfg.MaxIdlePerHost)
		}
		if p := rt.prices.Load().rows[provider]; p != nil {
			s.price.Store(p)
		}
		rt.log.Info("server discovered", "server", id, "url", u, "provider", provider)
		next = append(next, s)
	}
	for _, st := range rt.cfg.Static {
		add(st.ID, st.URL, st.Provider, stateStatic)
	}
	removed := map[string]bool{}
	if pl != nil {
		peers := pl.Peers
		if pl.Self != nil {
			// The answering server speaks for itself first: its own row is
			// the freshest.
			self := *pl.Self
			if self.State == "" {
				self.State = "alive"
			}
			peers = append([]peerJSON{self}, peers...)
		}
		for _, p := range peers {
			if p.Removed {
				removed[p.ID] = true
				continue
			}
			add(p.ID, p.URL, p.Provider, p.State)
		}
	}
	for _, s := range old.servers {
		if listed[s.ID] || removed[s.ID] || s.ClusterState() == stateStatic {
			continue
		}
		if s.missing++; s.missing < dropAfter {
			listed[s.ID] = true
			next = append(next, s)
		}
	}
	t := newTable(next)
	rt.table.Store(t)
	for _, s := range old.servers {
		if t.byID[s.ID] != s {
			rt.log.Info("server forgotten", "server", s.ID, "url", s.URL)
			if s.fast != nil {
				s.fast.close()
			}
			if t.byID[s.ID] == nil {
				rt.met.dropServer(s.ID)
			}
		}
	}
}

func (rt *Router) discoveryLoop(ctx context.Context) {
	tk := time.NewTicker(rt.cfg.DiscoveryInterval)
	defer tk.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tk.C:
			if err := rt.Discover(ctx); err != nil && ctx.Err() == nil {
				rt.log.Warn("discovery", "err", err)
			}
		}
	}
}
