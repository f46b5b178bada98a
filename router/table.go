package router

import (
	"encoding/json"
	"net/url"
	"sort"
	"sync/atomic"
)

// Price is one provider's row of the price service. Raw keeps the whole
// row (the service may carry more cost fields) for the status page.
type Price struct {
	Provider      string          `json:"provider"`
	EgressPerGB   float64         `json:"egress_usd_per_gb"`
	ServerPerHour float64         `json:"server_usd_per_hour"`
	Raw           json.RawMessage `json:"-"`
}

// Server is one CDN node the proxy routes to. Identity fields never change
// after creation (a new URL makes a new Server); stats are shared across
// table snapshots so measurements survive a discovery refresh.
type Server struct {
	ID       string
	URL      string
	Provider string
	// ClusterState is the state the cluster reported (alive, suspect, dead,
	// or "static" for --servers entries).
	clusterState atomic.Pointer[string]

	base     *url.URL
	idHeader []string // ready-made X-Cdn-Server value: no allocation per request
	idLine   []byte   // and the whole line, for the lean front
	price    atomic.Pointer[Price]
	st       *stats
	met      *serverMetrics
	fast     *upstream // nil: every request goes through http.Transport
	missing  int       // discovery refreshes in a row that did not list it; under Router.mu
	waits    waits     // attempts awaiting answer headers, given up when a probe fails
}

func newServer(id, rawURL, provider, state string) (*Server, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	u.Path = trimSlash(u.Path)
	s := &Server{ID: id, URL: rawURL, Provider: provider, base: u, idHeader: []string{id}, idLine: headerLine("X-Cdn-Server", id), st: newStats()}
	s.clusterState.Store(&state)
	return s, nil
}

func trimSlash(p string) string {
	for len(p) > 0 && p[len(p)-1] == '/' {
		p = p[:len(p)-1]
	}
	return p
}

// ClusterState is the state the cluster last reported for the server.
func (s *Server) ClusterState() string { return *s.clusterState.Load() }

// candidate reports whether the server may be picked: not ejected by the
// proxy and not declared dead by the cluster.
func (s *Server) candidate() bool {
	return !s.st.ejected() && *s.clusterState.Load() != "dead"
}

// table is an immutable snapshot of the known servers, sorted by id so
// that ties break the same way every time.
type table struct {
	servers []*Server
	byID    map[string]*Server
}

func newTable(servers []*Server) *table {
	sort.Slice(servers, func(i, j int) bool { return servers[i].ID < servers[j].ID })
	t := &table{servers: servers, byID: make(map[string]*Server, len(servers))}
	for _, s := range servers {
		t.byID[s.ID] = s
	}
	return t
}

// priceTable is an immutable snapshot of the price service's rows.
type priceTable struct {
	version int64
	etag    string
	rows    map[string]*Price
}
