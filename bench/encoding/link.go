package main

import (
	"fmt"
	"strings"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// Link is the network between a client (or a peer) and one server: a
// counting Relay in front of the server and, on a slow link, a toxiproxy
// bandwidth limit in front of the relay. Addr is where clients connect.
type Link struct {
	Name  string
	Relay *Relay
	proxy *toxiproxy.Proxy
}

// LinkSpec says what network a run emulates. A zero rate is loopback
// without a limit.
type LinkSpec struct {
	Name     string // loopback or slow
	RateKBps int64  // toxiproxy bandwidth per connection and direction, KB/s (1000 bytes)
}

// Mbps is the spec's rate in Mbit/s.
func (s LinkSpec) Mbps() float64 { return float64(s.RateKBps) * 8 / 1000 }

var toxiServer *toxiproxy.ApiServer

func init() {
	// toxiproxy logs through zerolog's global logger; a benchmark wants quiet.
	zerolog.SetGlobalLevel(zerolog.Disabled)
	toxiServer = toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), zerolog.Nop())
}

// OpenLink puts a link of spec in front of the server at upstream.
func OpenLink(spec LinkSpec, name, upstream string) (*Link, error) {
	r, err := StartRelay(upstream)
	if err != nil {
		return nil, err
	}
	l := &Link{Name: name, Relay: r}
	if spec.RateKBps <= 0 {
		return l, nil
	}
	p := toxiproxy.NewProxy(toxiServer, name, "127.0.0.1:0", r.Addr())
	if err := p.Start(); err != nil {
		r.Close()
		return nil, fmt.Errorf("link %s: %w", name, err)
	}
	// Both directions: uploads go upstream, replicated blobs (fetched by
	// the receiving peer) come downstream.
	for _, dir := range []string{"upstream", "downstream"} {
		js := fmt.Sprintf(`{"name":"bw_%s","type":"bandwidth","stream":%q,"attributes":{"rate":%d}}`, dir, dir, spec.RateKBps)
		if _, err := p.Toxics.AddToxicJson(strings.NewReader(js)); err != nil {
			p.Stop()
			r.Close()
			return nil, fmt.Errorf("link %s: bandwidth toxic: %w", name, err)
		}
	}
	l.proxy = p
	return l, nil
}

// Addr is the HOST:PORT clients use to reach the server through the link.
func (l *Link) Addr() string {
	if l.proxy != nil {
		return l.proxy.Listen
	}
	return l.Relay.Addr()
}

// URL is the base URL of the server through the link.
func (l *Link) URL() string { return "http://" + l.Addr() }

// Close takes the link down.
func (l *Link) Close() {
	if l.proxy != nil {
		l.proxy.Stop()
	}
	l.Relay.Close()
}
