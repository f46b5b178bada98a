package scenario

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/Shopify/toxiproxy/v2"
	"github.com/rs/zerolog"
)

// Lab is the network between the proxy and the servers: one toxiproxy
// link per server, in process, each on its own 127.0.0.1 port.
type Lab struct {
	tox *toxiproxy.ApiServer

	mu    sync.Mutex
	links map[string]*toxiproxy.Proxy
}

// NewLab returns a Lab with no links. It silences zerolog's global
// logger: toxiproxy's toxics log through it, a line per interrupted write.
func NewLab() *Lab {
	zerolog.SetGlobalLevel(zerolog.Disabled)
	return &Lab{tox: toxiproxy.NewServer(toxiproxy.NewMetricsContainer(nil), zerolog.Nop()),
		links: map[string]*toxiproxy.Proxy{}}
}

// Link starts a link to the server id listening on upstream (HOST:PORT)
// and returns the base URL the server should advertise.
func (l *Lab) Link(id, upstream string) (string, error) {
	p := toxiproxy.NewProxy(l.tox, id, "127.0.0.1:0", upstream)
	if err := p.Start(); err != nil {
		return "", fmt.Errorf("link %s: %w", id, err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.links[id] = p
	return "http://" + p.Listen, nil
}

// Shape replaces the toxics of id's link: latencyMs added to everything
// the server sends, and its rate capped at kbps KB/s (zero: no cap).
func (l *Lab) Shape(ctx context.Context, id string, latencyMs, kbps int64) error {
	l.mu.Lock()
	p := l.links[id]
	l.mu.Unlock()
	if p == nil {
		return fmt.Errorf("shape %s: %w: no link", id, ErrMismatch)
	}
	for _, name := range []string{"latency", "bandwidth"} {
		if p.Toxics.GetToxic(name) != nil {
			if err := p.Toxics.RemoveToxic(ctx, name); err != nil {
				return fmt.Errorf("shape %s: remove %s: %w", id, name, err)
			}
		}
	}
	add := func(js string) error {
		if _, err := p.Toxics.AddToxicJson(strings.NewReader(js)); err != nil {
			return fmt.Errorf("shape %s: add %s: %w", id, js, err)
		}
		return nil
	}
	if latencyMs > 0 {
		if err := add(fmt.Sprintf(`{"name":"latency","type":"latency","stream":"downstream","attributes":{"latency":%d}}`, latencyMs)); err != nil {
			return err
		}
	}
	if kbps > 0 {
		if err := add(fmt.Sprintf(`{"name":"bandwidth","type":"bandwidth","stream":"downstream","attributes":{"rate":%d}}`, kbps)); err != nil {
			return err
		}
	}
	return nil
}

// Close stops every link.
func (l *Lab) Close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for id, p := range l.links {
		p.Stop()
		delete(l.links, id)
	}
}
