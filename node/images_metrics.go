package node

import (
	"github.com/prometheus/client_golang/prometheus"
)

// imageMetrics are the image service's Prometheus series.
type imageMetrics struct {
	made             *prometheus.CounterVec   // kind: precomputed, dynamic
	resizeSeconds    *prometheus.HistogramVec // kind: precomputed (all widths of an upload), dynamic
	rejected         *prometheus.CounterVec   // reason
	served           *prometheus.CounterVec   // source: original, precomputed, dynamic
	auto             *prometheus.CounterVec   // class, evidence
	dropped          prometheus.Counter
	precomputeFailed prometheus.Counter
	collapsed        prometheus.Counter
	evicted          prometheus.Counter
}

func newImageMetrics(reg prometheus.Registerer) *imageMetrics {
	m := &imageMetrics{
		made: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "metacdn_image_variants_made_total", Help: "Image variants made, by kind (precomputed at upload, dynamic on request).",
		}, []string{"kind"}),
		resizeSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "metacdn_image_resize_seconds", Help: "Time to decode, resize and encode: one width on request (dynamic), all widths of an upload (precomputed).",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"kind"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "metacdn_image_rejections_total", Help: "Image requests refused, by reason.",
		}, []string{"reason"}),
		served: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "metacdn_image_responses_total", Help: "Answers to ?w= requests, by what was served.",
		}, []string{"source"}),
		auto: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "metacdn_image_auto_choices_total", Help: "?w=auto choices, by link class and the evidence behind it.",
		}, []string{"class", "evidence"}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "metacdn_image_precompute_dropped_total", Help: "Uploads whose precompute was dropped because the queue was full.",
		}),
		precomputeFailed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "metacdn_image_precompute_failures_total", Help: "Images whose variants could not be precomputed (not an image, over limits, corrupt).",
		}),
		collapsed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "metacdn_image_resizes_collapsed_total", Help: "Requests that shared a resize already running for the same source and width.",
		}),
		evicted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "metacdn_image_dynamic_evicted_total", Help: "Dynamic variants deleted to stay under --max-dynamic-variants.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.made, m.resizeSeconds, m.rejected, m.served, m.auto, m.dropped, m.precomputeFailed, m.collapsed, m.evicted)
	}
	return m
}
