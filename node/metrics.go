package node

import (
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"

	"metacdn/storage"
)

type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	sent     prometheus.Counter
	uploaded prometheus.Counter

	// series caches each route, method and code's counter and histogram:
	// the vectors' label lookups hash three strings and chi's
	// RoutePattern joins the route's patterns anew on every request. The
	// map is copied on write (writes are rare), so reads take no lock.
	series  atomic.Pointer[map[seriesKey]*series]
	seriesM sync.Mutex
}

// seriesKey identifies a request's series by chi's route patterns as they
// are, since RoutePattern is a function of them alone.
type seriesKey struct {
	patterns [4]string
	method   string
	code     int
}

type series struct {
	requests prometheus.Counter
	duration prometheus.Observer
}

// maxSeriesCache bounds the cache: methods are the client's to choose.
const maxSeriesCache = 256

func newMetrics(reg prometheus.Registerer, db *storage.DB) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "metacdn_http_requests_total", Help: "HTTP requests by route, method and status code.",
		}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "metacdn_http_request_duration_seconds", Help: "Time to answer HTTP requests.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10, 60},
		}, []string{"route", "method"}),
		sent: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "metacdn_http_response_bytes_total", Help: "Bytes written in HTTP answers.",
		}),
		uploaded: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "metacdn_uploaded_bytes_total", Help: "Content bytes committed by uploads.",
		}),
	}
	m.series.Store(&map[seriesKey]*series{})
	reg.MustRegister(m.requests, m.duration, m.sent, m.uploaded, &storageCollector{db: db})
	return m
}

// observe counts a finished request under its route, method and status.
func (m *metrics) observe(rc *chi.Context, method string, status int, bytes int64, took time.Duration) {
	s := m.seriesFor(rc, methodLabel(method), status)
	s.requests.Inc()
	s.duration.Observe(took.Seconds())
	m.sent.Add(float64(bytes))
}

// methodLabel is a request method as a label: the client chooses it, so
// any but the standard ones counts as "other", or each made-up method
// would add series without bound.
func methodLabel(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodPost, http.MethodDelete,
		http.MethodOptions, http.MethodPatch, http.MethodConnect, http.MethodTrace:
		return method
	}
	return "other"
}

func (m *metrics) seriesFor(rc *chi.Context, method string, code int) *series {
	k := seriesKey{method: method, code: code}
	cacheable := rc == nil || len(rc.RoutePatterns) <= len(k.patterns)
	if cacheable {
		if rc != nil {
			copy(k.patterns[:], rc.RoutePatterns)
		}
		if s, ok := (*m.series.Load())[k]; ok {
			return s
		}
	}
	route := "unmatched"
	if rc != nil && rc.RoutePattern() != "" {
		route = rc.RoutePattern()
	}
	s := &series{
		requests: m.requests.WithLabelValues(route, method, strconv.Itoa(code)),
		duration: m.duration.WithLabelValues(route, method),
	}
	if cacheable {
		m.seriesM.Lock()
		defer m.seriesM.Unlock()
		old := *m.series.Load()
		if len(old) < maxSeriesCache {
			cache := make(map[seriesKey]*series, len(old)+1)
			for k, v := range old {
				cache[k] = v
			}
			cache[k] = s
			m.series.Store(&cache)
		}
	}
	return s
}

// storageCollector reads the database's counts at scrape time, so they
// cost nothing between scrapes.
type storageCollector struct{ db *storage.DB }

var (
	descObjects   = prometheus.NewDesc("metacdn_objects", "Live objects stored.", nil, nil)
	descBlobs     = prometheus.NewDesc("metacdn_blobs", "Distinct blobs stored.", nil, nil)
	descBlobBytes = prometheus.NewDesc("metacdn_blob_bytes", "Bytes of distinct blobs stored.", nil, nil)
	descFileBytes = prometheus.NewDesc("metacdn_db_file_bytes", "Size of the bbolt file.", nil, nil)
	descVariants  = prometheus.NewDesc("metacdn_image_variants", "Image variants stored.", nil, nil)
	descUploads   = prometheus.NewDesc("metacdn_upload_sessions", "Open resumable upload sessions.", nil, nil)

	descSpill      = prometheus.NewDesc("metacdn_db_commit_spill_seconds_total", "Time bbolt commits spent copying values into pages.", nil, nil)
	descWrite      = prometheus.NewDesc("metacdn_db_commit_write_seconds_total", "Time bbolt commits spent writing pages and syncing them to disk.", nil, nil)
	descPageWrites = prometheus.NewDesc("metacdn_db_page_writes_total", "Page writes bbolt commits made.", nil, nil)
	descFreeBytes  = prometheus.NewDesc("metacdn_db_free_bytes", "Bytes of free pages in the bbolt file, for later writes to reuse.", nil, nil)
	descOpenReads  = prometheus.NewDesc("metacdn_db_open_read_transactions", "Read transactions open now.", nil, nil)
)

func (c *storageCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descObjects, descBlobs, descBlobBytes, descFileBytes, descVariants, descUploads,
		descSpill, descWrite, descPageWrites, descFreeBytes, descOpenReads} {
		ch <- d
	}
}

func (c *storageCollector) Collect(ch chan<- prometheus.Metric) {
	cs := c.db.CommitStats()
	ch <- prometheus.MustNewConstMetric(descSpill, prometheus.CounterValue, cs.SpillSeconds)
	ch <- prometheus.MustNewConstMetric(descWrite, prometheus.CounterValue, cs.WriteSeconds)
	ch <- prometheus.MustNewConstMetric(descPageWrites, prometheus.CounterValue, float64(cs.PageWrites))
	ch <- prometheus.MustNewConstMetric(descFreeBytes, prometheus.GaugeValue, float64(cs.FreeBytes))
	ch <- prometheus.MustNewConstMetric(descOpenReads, prometheus.GaugeValue, float64(cs.OpenReads))
	s, err := c.db.Stats()
	if err != nil {
		return
	}
	ch <- prometheus.MustNewConstMetric(descObjects, prometheus.GaugeValue, float64(s.Objects))
	ch <- prometheus.MustNewConstMetric(descBlobs, prometheus.GaugeValue, float64(s.Blobs))
	ch <- prometheus.MustNewConstMetric(descBlobBytes, prometheus.GaugeValue, float64(s.BlobBytes))
	ch <- prometheus.MustNewConstMetric(descFileBytes, prometheus.GaugeValue, float64(s.FileBytes))
	ch <- prometheus.MustNewConstMetric(descVariants, prometheus.GaugeValue, float64(s.Variants))
	ch <- prometheus.MustNewConstMetric(descUploads, prometheus.GaugeValue, float64(s.Uploads))
}
