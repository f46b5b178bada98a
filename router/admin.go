package router

import (
	"encoding/json"
	"math"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// statusDecisions is how many recent decisions the status page lists.
const statusDecisions = 50

func (rt *Router) newAdminRouter() http.Handler {
	r := chi.NewRouter()
	r.Get("/_proxy/healthz", rt.handleHealthz)
	r.Get("/_proxy/status", rt.handleStatus)
	r.Put("/_proxy/policy", rt.handleSetPolicy)
	r.Post("/_proxy/policy", rt.handleSetPolicy)
	r.Handle("/_proxy/metrics", promhttp.HandlerFor(rt.met.reg, promhttp.HandlerOpts{}))
	r.NotFound(func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, http.StatusNotFound, "no such proxy endpoint: try /_proxy/status, /_proxy/healthz or /_proxy/metrics")
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, http.StatusMethodNotAllowed, "method not allowed")
	})
	return r
}

// writeJSON writes v with status code.
func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}

// HealthzResponse is the body of GET /_proxy/healthz.
type HealthzResponse struct {
	Status  string `json:"status"`
	Servers int    `json:"servers"`
	Healthy int    `json:"healthy"`
}

// handleHealthz answers 200 while the proxy has a server to route to and
// 503 before it has learnt any.
func (rt *Router) handleHealthz(w http.ResponseWriter, _ *http.Request) {
	t := rt.table.Load()
	hr := HealthzResponse{Status: "ok", Servers: len(t.servers)}
	for _, s := range t.servers {
		if s.candidate() {
			hr.Healthy++
		}
	}
	code := http.StatusOK
	if len(t.servers) == 0 {
		hr.Status, code = "no servers known", http.StatusServiceUnavailable
	}
	writeJSON(w, code, hr)
}

// StatusResponse is the body of GET /_proxy/status.
type StatusResponse struct {
	Policy        Policy           `json:"policy"`
	Weight        float64          `json:"weight"`
	Formula       string           `json:"formula"`
	Seeds         []string         `json:"seeds"`
	PriceInfo     string           `json:"priceinfo,omitempty"`
	PricesVersion int64            `json:"prices_version"`
	Servers       []ServerStatus   `json:"servers"`
	Decisions     []DecisionStatus `json:"decisions"`
}

// ServerStatus is one server in the status page. Unknown figures are null.
type ServerStatus struct {
	ID                  string          `json:"id"`
	URL                 string          `json:"url"`
	Provider            string          `json:"provider"`
	ClusterState        string          `json:"cluster_state"`
	State               string          `json:"state"` // healthy or ejected
	RTTMs               *float64        `json:"rtt_ms"`
	JitterMs            *float64        `json:"jitter_ms"`
	ThroughputMBps      *float64        `json:"throughput_mbytes_per_s"`
	RTTSamples          uint64          `json:"rtt_samples"`
	ThroughputSamples   uint64          `json:"throughput_samples"`
	Requests            uint64          `json:"requests"`
	Inflight            int64           `json:"inflight"`
	Failures            uint64          `json:"failures"`
	ConsecutiveFailures int             `json:"consecutive_failures"`
	LastFailure         *time.Time      `json:"last_failure,omitempty"`
	EjectedUntil        *time.Time      `json:"ejected_until,omitempty"`
	Price               json.RawMessage `json:"price"`
	EgressUSDPerGB      *float64        `json:"egress_usd_per_gb"`
	ServerUSDPerHour    *float64        `json:"server_usd_per_hour"`
	Score               *float64        `json:"score"`
	ExpectedMs          *float64        `json:"expected_ms"`
	Rank                int             `json:"rank"`
}

// DecisionStatus is one routing decision in the status page.
type DecisionStatus struct {
	Time       time.Time `json:"time"`
	Method     string    `json:"method"`
	Host       string    `json:"host,omitempty"`
	Path       string    `json:"path"`
	Policy     Policy    `json:"policy"`
	Server     string    `json:"server"`
	Status     int       `json:"status"`
	Tried      []string  `json:"tried"`
	DurationMs float64   `json:"duration_ms"`
	Reason     string    `json:"reason"`
}

func ptr(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

// Formula returns the policy's scoring rule in words.
func Formula(p Policy, w float64) string {
	switch p {
	case PolicyPrice:
		return "score = egress_usd_per_gb (ties: server_usd_per_hour, then network time); lower wins"
	case PolicyCombined:
		return "net = rtt + jitter + size/throughput; score = " + strconv.FormatFloat(w, 'f', 2, 64) +
			"*net/best_net + " + strconv.FormatFloat(1-w, 'f', 2, 64) +
			"*egress/best_egress (best among healthy servers, floors 1 ms and $0.001/GB); lower wins"
	}
	return "score = rtt + jitter + size/throughput in seconds (size: request body, size seen before, or assumed); lower wins"
}

func (rt *Router) handleStatus(w http.ResponseWriter, r *http.Request) {
	size := rt.cfg.AssumedSize
	if v := r.URL.Query().Get("size"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			writeError(w, http.StatusBadRequest, "size must be a byte count")
			return
		}
		size = n
	}
	p, wt := rt.Policy()
	resp := StatusResponse{
		Policy: p, Weight: wt, Formula: Formula(p, wt),
		Seeds: rt.cfg.Seeds, PriceInfo: rt.cfg.PriceInfo,
		PricesVersion: rt.prices.Load().version,
		Servers:       []ServerStatus{}, Decisions: []DecisionStatus{},
	}
	for _, sc := range rt.Ranking(size) {
		s := sc.Server
		ss := ServerStatus{
			ID: s.ID, URL: s.URL, Provider: s.Provider, ClusterState: s.ClusterState(), State: "healthy",
			RTTMs:               ptr(s.st.rtt.Load() * 1000),
			JitterMs:            ptr(s.st.jitter.Load() * 1000),
			ThroughputMBps:      ptr(s.st.throughput.Load() / 1e6),
			RTTSamples:          s.st.rttSamples.Load(),
			ThroughputSamples:   s.st.tputSamples.Load(),
			Requests:            s.st.requests.Load(),
			Inflight:            s.st.inflight.Load(),
			Failures:            s.st.failures.Load(),
			ConsecutiveFailures: s.st.consecutiveFailures(),
			Price:               json.RawMessage("null"),
			Rank:                sc.Rank,
		}
		if lf := unixTime(s.st.lastFailure.Load()); !lf.IsZero() {
			ss.LastFailure = &lf
		}
		if eu := unixTime(s.st.ejectedUntil.Load()); !eu.IsZero() {
			ss.EjectedUntil = &eu
		}
		if !s.candidate() {
			ss.State = "ejected"
			if !s.st.ejected() {
				ss.State = "dead in cluster"
			}
		}
		if pr := s.price.Load(); pr != nil {
			if len(pr.Raw) > 0 {
				ss.Price = pr.Raw
			}
			ss.EgressUSDPerGB, ss.ServerUSDPerHour = ptr(pr.EgressPerGB), ptr(pr.ServerPerHour)
		}
		if !sc.Ejected {
			ss.Score = ptr(sc.Score[0])
			net := sc.Score[0]
			if p != PolicyNetwork {
				net = sc.Score[1]
				if p == PolicyPrice {
					net = sc.Score[2]
				}
			}
			ss.ExpectedMs = ptr(net * 1000)
		}
		resp.Servers = append(resp.Servers, ss)
	}
	for _, d := range rt.decisions.recent(statusDecisions) {
		ds := DecisionStatus{
			Time: d.at, Method: d.method, Host: d.host, Path: d.path, Policy: d.policy,
			Server: d.server, Status: d.status, DurationMs: float64(d.dur.Microseconds()) / 1000,
			Reason: d.reason(), Tried: []string{},
		}
		for _, a := range d.attempts {
			ds.Tried = append(ds.Tried, a.server)
		}
		resp.Decisions = append(resp.Decisions, ds)
	}
	writeJSON(w, http.StatusOK, resp)
}

// handleSetPolicy switches the policy at run time:
// PUT /_proxy/policy?policy=combined&weight=0.3. The proxy has no admin
// token, so only a client on the same host may do it.
func (rt *Router) handleSetPolicy(w http.ResponseWriter, r *http.Request) {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err != nil || !net.ParseIP(host).IsLoopback() {
		writeError(w, http.StatusForbidden, "the policy can only be changed from the proxy's own host (127.0.0.1)")
		return
	}
	q := r.URL.Query()
	p, wt := rt.Policy()
	if v := q.Get("policy"); v != "" {
		np, err := ParsePolicy(v)
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		p = np
	}
	if v := q.Get("weight"); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 0 || f > 1 {
			writeError(w, http.StatusBadRequest, "weight must be a number between 0 and 1")
			return
		}
		wt = f
	}
	rt.SetPolicy(p, wt)
	rt.log.Info("policy changed", "policy", p, "weight", wt)
	writeJSON(w, http.StatusOK, map[string]any{"policy": p, "weight": wt, "formula": Formula(p, wt)})
}
