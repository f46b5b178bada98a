package router

import (
	"math"
	"sync"
	"time"
)

// ranking is one request's view of the servers: healthy candidates first
// (scored by the policy), then the ejected ones (scored so that the least
// recently failed comes first). Rankings are pooled: the request path
// allocates none.
type ranking struct {
	servers []*Server
	out     []*Server // ejected or dead servers, while ranking
	ms      []Metrics
	scores  []Score
	healthy int
	pooled  bool // from rankingPool, not a connection's own
}

var rankingPool = sync.Pool{New: func() any {
	return &ranking{
		pooled:  true,
		servers: make([]*Server, 0, 16),
		out:     make([]*Server, 0, 16),
		ms:      make([]Metrics, 0, 16),
		scores:  make([]Score, 0, 16),
	}
}}

func (rk *ranking) release() {
	clear(rk.servers)
	clear(rk.out)
	rk.servers, rk.out, rk.ms, rk.scores = rk.servers[:0], rk.out[:0], rk.ms[:0], rk.scores[:0]
	if rk.pooled {
		rankingPool.Put(rk)
	}
}

func metricsOf(s *Server, now int64, ttl time.Duration) Metrics {
	m := Metrics{
		RTT:        s.st.rtt.Load(),
		Jitter:     s.st.jitter.Load(),
		Throughput: s.st.throughputAt(now, ttl),
		Egress:     math.NaN(),
		ServerHour: math.NaN(),
	}
	if p := s.price.Load(); p != nil {
		m.Egress, m.ServerHour = p.EgressPerGB, p.ServerPerHour
	}
	return m
}

// rank scores the servers of t for a request of size bytes at now (Unix
// nanoseconds), into rk if it is not nil (a lean connection's own), else
// into a pooled ranking.
func (rt *Router) rank(t *table, ps *policyState, size, now int64, rk *ranking) *ranking {
	if rk == nil {
		rk = rankingPool.Get().(*ranking)
	}
	for _, s := range t.servers {
		if s.candidate() {
			rk.servers = append(rk.servers, s)
			rk.ms = append(rk.ms, metricsOf(s, now, rt.cfg.ThroughputTTL))
		} else {
			rk.out = append(rk.out, s)
		}
	}
	rk.healthy = len(rk.servers)
	rk.servers = append(rk.servers, rk.out...)
	n := len(rk.servers)
	if cap(rk.scores) < n {
		rk.scores = make([]Score, n)
	}
	rk.scores = rk.scores[:n]
	Scores(Params{
		Policy:     ps.policy,
		Weight:     ps.weight,
		Size:       size,
		NetFloor:   rt.cfg.NetFloor.Seconds(),
		PriceFloor: rt.cfg.PriceFloor,
	}, rk.ms, rk.scores[:rk.healthy])
	for i := rk.healthy; i < n; i++ {
		rk.scores[i] = Score{math.Inf(1), float64(rk.servers[i].st.lastFailure.Load()), 0}
	}
	return rk
}

// Decide returns the server the policy picks for a transfer of size
// bytes (0: unknown), or nil when no server is known.
func (rt *Router) Decide(size int64) *Server {
	t := rt.table.Load()
	if len(t.servers) == 0 {
		return nil
	}
	rk := rt.rank(t, rt.pol.Load(), size, rt.now().UnixNano(), nil)
	defer rk.release()
	if i := best(rk.scores, nil); i >= 0 {
		return rk.servers[i]
	}
	return nil
}

// ServerScore is one server's place under the current policy.
type ServerScore struct {
	Server *Server
	Score  Score
	// Rank is 1 for the pick; ejected servers rank after every healthy one.
	Rank    int
	Ejected bool
}

// Ranking returns every known server in the order the policy would try
// them for a transfer of size bytes.
func (rt *Router) Ranking(size int64) []ServerScore {
	t := rt.table.Load()
	rk := rt.rank(t, rt.pol.Load(), size, rt.now().UnixNano(), nil)
	defer rk.release()
	out := make([]ServerScore, 0, len(rk.servers))
	var skip []int
	for {
		i := best(rk.scores, skip)
		if i < 0 {
			break
		}
		skip = append(skip, i)
		out = append(out, ServerScore{Server: rk.servers[i], Score: rk.scores[i], Rank: len(out) + 1, Ejected: i >= rk.healthy})
	}
	return out
}

// unixTime turns stored nanos into a time; zero stays zero.
func unixTime(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}
