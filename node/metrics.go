package node

import (
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/prometheus/client_golang/prometheus"

	"metacdn/storage"
)

type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	sent     prometheus.Counter
	uploaded prometheus.Counter
}

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
	reg.MustRegister(m.requests, m.duration, m.sent, m.uploaded, &storageCollector{db: db})
	return m
}

func (m *metrics) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		start := time.Now()
		next.ServeHTTP(ww, r)
		route := "unmatched"
		if rc := chi.RouteContext(r.Context()); rc != nil && rc.RoutePattern() != "" {
			route = rc.RoutePattern()
		}
		status := ww.Status()
		if status == 0 {
			status = http.StatusOK
		}
		m.requests.WithLabelValues(route, r.Method, strconv.Itoa(status)).Inc()
		m.duration.WithLabelValues(route, r.Method).Observe(time.Since(start).Seconds())
		m.sent.Add(float64(ww.BytesWritten()))
	})
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
)

func (c *storageCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descObjects, descBlobs, descBlobBytes, descFileBytes, descVariants, descUploads} {
		ch <- d
	}
}

func (c *storageCollector) Collect(ch chan<- prometheus.Metric) {
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
