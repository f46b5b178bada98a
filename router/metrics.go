package router

import (
	"math"

	"github.com/prometheus/client_golang/prometheus"
)

// Outcome classes of one attempt, the "result" label.
const (
	result2xx = iota
	result3xx
	result4xx
	result5xx
	resultError
	numResults
)

var resultNames = [numResults]string{"2xx", "3xx", "4xx", "5xx", "error"}

// metrics is the proxy's own Prometheus registry.
type metrics struct {
	reg      *prometheus.Registry
	attempts *prometheus.CounterVec
	requests *prometheus.CounterVec
	retries  prometheus.Counter
	duration prometheus.Histogram
	// byPolicy holds the requests counters resolved once per policy.
	byPolicy map[Policy]*[numResults]prometheus.Counter
}

func (m *metrics) requestCounter(p Policy, result int) prometheus.Counter {
	return m.byPolicy[p][result]
}

// serverMetrics are one server's counters, resolved once so that the
// request path does no label lookup.
type serverMetrics struct {
	attempts [numResults]prometheus.Counter
}

func newMetrics(rt *Router) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "metacdn", Subsystem: "proxy", Name: "attempts_total",
			Help: "Requests sent to CDN servers, by server and result (error: refused, timed out or cut).",
		}, []string{"server", "result"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "metacdn", Subsystem: "proxy", Name: "requests_total",
			Help: "Client requests answered, by policy and status class.",
		}, []string{"policy", "result"}),
		retries: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "metacdn", Subsystem: "proxy", Name: "retries_total",
			Help: "Attempts on a further server after a failure or a 404.",
		}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "metacdn", Subsystem: "proxy", Name: "request_duration_seconds",
			Help:    "Time from request to the end of the response body.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2.5, 14),
		}),
	}
	m.byPolicy = map[Policy]*[numResults]prometheus.Counter{}
	for _, p := range []Policy{PolicyNetwork, PolicyPrice, PolicyCombined} {
		var cs [numResults]prometheus.Counter
		for i := range cs {
			cs[i] = m.requests.WithLabelValues(string(p), resultNames[i])
		}
		m.byPolicy[p] = &cs
	}
	m.reg.MustRegister(m.attempts, m.requests, m.retries, m.duration, &serverCollector{rt: rt})
	return m
}

func (m *metrics) forServer(id string) *serverMetrics {
	sm := &serverMetrics{}
	for i := range sm.attempts {
		sm.attempts[i] = m.attempts.WithLabelValues(id, resultNames[i])
	}
	return sm
}

func (m *metrics) dropServer(id string) {
	for _, r := range resultNames {
		m.attempts.DeleteLabelValues(id, r)
	}
}

func resultOf(code int) int {
	switch {
	case code >= 500:
		return result5xx
	case code >= 400:
		return result4xx
	case code >= 300:
		return result3xx
	}
	return result2xx
}

var (
	descRTT = prometheus.NewDesc("metacdn_proxy_server_rtt_seconds",
		"Smoothed probe round trip.", []string{"server"}, nil)
	descJitter = prometheus.NewDesc("metacdn_proxy_server_jitter_seconds",
		"Smoothed deviation of the probe round trip.", []string{"server"}, nil)
	descTput = prometheus.NewDesc("metacdn_proxy_server_throughput_bytes_per_second",
		"Smoothed throughput of large transfers.", []string{"server"}, nil)
	descEjected = prometheus.NewDesc("metacdn_proxy_server_ejected",
		"1 while the server is out of rotation after failures.", []string{"server"}, nil)
	descFailures = prometheus.NewDesc("metacdn_proxy_server_failures_total",
		"Failures seen (refused, timed out, 5xx), probes included.", []string{"server"}, nil)
)

// serverCollector reads the per-server figures at scrape time from the
// current table, so servers come and go without registration.
type serverCollector struct{ rt *Router }

func (c *serverCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descRTT, descJitter, descTput, descEjected, descFailures} {
		ch <- d
	}
}

func (c *serverCollector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range c.rt.table.Load().servers {
		gauge := func(d *prometheus.Desc, v float64) {
			if !math.IsNaN(v) {
				ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, s.ID)
			}
		}
		gauge(descRTT, s.st.rtt.Load())
		gauge(descJitter, s.st.jitter.Load())
		gauge(descTput, s.st.throughput.Load())
		ej := 0.0
		if s.st.ejected() {
			ej = 1
		}
		gauge(descEjected, ej)
		ch <- prometheus.MustNewConstMetric(descFailures, prometheus.CounterValue, float64(s.st.failures.Load()), s.ID)
	}
}
