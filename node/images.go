package node

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/singleflight"

	"metacdn/scaler"
	"metacdn/storage"
)

// Scale modes: which way the server makes smaller images.
const (
	ScalePrecompute = "precompute"
	ScaleDynamic    = "dynamic"
	ScaleBoth       = "both"
)

// Defaults of ImageConfig.
const (
	// DefaultMaxDynamicVariants caps the variants kept from ?w=N requests:
	// at some 50 kB each, about 500 MB.
	DefaultMaxDynamicVariants = 10000
	// DefaultPrecomputeQueue is how many uploads may wait for their
	// variants; past it a job is dropped (the sweep or a request makes the
	// variants later).
	DefaultPrecomputeQueue = 256
	// DefaultImageSweepInterval is how often the node looks through the
	// replication log for images that arrived from peers without variants.
	DefaultImageSweepInterval = 5 * time.Second
	// MaxRequestWidth bounds ?w=N: wider is a 400, whatever the image.
	MaxRequestWidth = 16384
)

// ImageConfig says how the node makes image variants. Zero fields take the
// defaults noted; DefaultImageConfig spells them out.
type ImageConfig struct {
	Scale  string // precompute, dynamic or both; "" means both
	Widths []int  // widths precomputed at upload; nil means scaler.DefaultWidths

	// MaxPixels refuses (422) resizing sources whose header claims more
	// pixels. 0 means scaler.DefaultMaxPixels.
	MaxPixels int64
	// MaxResizes caps resizes running at once, requests and precompute
	// together; a request finding all taken gets 503. 0 means GOMAXPROCS.
	MaxResizes int
	// DecodeMemory caps the memory of the resizes running at once, by
	// each image's estimate from its header (scaler.Info.DecodeBytes): a
	// request that finds too little free gets 503, an image whose estimate
	// is over the whole of it 422. 0 means scaler.DefaultDecodeBudget.
	DecodeMemory int64
	// MaxDynamicVariants caps the variants kept from ?w=N requests, oldest
	// evicted first. 0 means DefaultMaxDynamicVariants.
	MaxDynamicVariants int
	// AutoTarget is how long a ?w=auto answer may take to arrive at the
	// client's link rate. 0 means scaler.DefaultTargetTime.
	AutoTarget time.Duration

	// PrecomputeWorkers is how many uploads are precomputed at once. 0
	// means 1: precompute is background work, requests come first.
	PrecomputeWorkers int
	// PrecomputeQueue bounds the jobs waiting. 0 means
	// DefaultPrecomputeQueue.
	PrecomputeQueue int
	// SweepInterval is how often replicated images are checked for
	// missing variants. 0 means DefaultImageSweepInterval; negative turns
	// the sweep off.
	SweepInterval time.Duration
}

// DefaultImageConfig returns the defaults.
func DefaultImageConfig() ImageConfig {
	return ImageConfig{
		Scale:              ScaleBoth,
		Widths:             []int{160, 320, 640, 1280},
		MaxPixels:          scaler.DefaultMaxPixels,
		MaxDynamicVariants: DefaultMaxDynamicVariants,
		AutoTarget:         scaler.DefaultTargetTime,
	}
}

// Validate names a bad field.
func (c ImageConfig) Validate() error {
	switch c.Scale {
	case ScalePrecompute, ScaleDynamic, ScaleBoth, "":
	default:
		return &ConfigError{"scale", fmt.Sprintf("%q: want precompute, dynamic or both", c.Scale)}
	}
	for _, w := range c.Widths {
		if w <= 0 || w > MaxRequestWidth {
			return &ConfigError{"widths", fmt.Sprintf("widths must be between 1 and %d", MaxRequestWidth)}
		}
	}
	switch {
	case c.MaxPixels < 0:
		return &ConfigError{"max-pixels", "must not be negative (0: the default)"}
	case c.MaxResizes < 0:
		return &ConfigError{"max-resizes", "must not be negative (0: one per CPU)"}
	case c.DecodeMemory < 0:
		return &ConfigError{"decode-memory", "must not be negative (0: the default)"}
	case c.MaxDynamicVariants < 0:
		return &ConfigError{"max-dynamic-variants", "must not be negative (0: the default)"}
	case c.AutoTarget < 0:
		return &ConfigError{"auto-target", "must not be negative (0: the default)"}
	case c.PrecomputeWorkers < 0, c.PrecomputeQueue < 0:
		return &ConfigError{"precompute", "workers and queue must not be negative"}
	}
	return nil
}

func (c ImageConfig) withDefaults() ImageConfig {
	if c.Scale == "" {
		c.Scale = ScaleBoth
	}
	if c.MaxPixels == 0 {
		c.MaxPixels = scaler.DefaultMaxPixels
	}
	if c.MaxDynamicVariants == 0 {
		c.MaxDynamicVariants = DefaultMaxDynamicVariants
	}
	if c.AutoTarget == 0 {
		c.AutoTarget = scaler.DefaultTargetTime
	}
	if c.PrecomputeWorkers == 0 {
		c.PrecomputeWorkers = 1
	}
	if c.PrecomputeQueue == 0 {
		c.PrecomputeQueue = DefaultPrecomputeQueue
	}
	if c.SweepInterval == 0 {
		c.SweepInterval = DefaultImageSweepInterval
	}
	return c
}

// imageService makes and serves image variants: precomputed by a worker
// pool after uploads and by the sweep for replicated images, resized on
// request (collapsed per source and width, capped by a Limiter), and
// chosen for ?w=auto from Client Hints or the server's own link estimate.
// It owns its goroutines: Close stops them and waits.
type imageService struct {
	db      *storage.DB
	cfg     ImageConfig
	log     *slog.Logger
	met     *imageMetrics
	limits  scaler.Limits
	limiter *scaler.Limiter
	budget  *scaler.Budget
	est     *scaler.Estimator
	infos   *infoCache
	flight  singleflight.Group

	jobs     chan string   // source SHA-256s to precompute
	kicks    chan struct{} // asks the sweep to run now
	queuedMu sync.Mutex
	queued   map[string]bool

	evictMu  sync.Mutex
	watchers chan struct{} // slots for delivery watchers

	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	closeMu sync.RWMutex
	closed  bool
}

// maxDeliveryWatchers bounds the goroutines following responses to their
// delivery; past it a response is not measured.
const maxDeliveryWatchers = 64

func newImageService(db *storage.DB, cfg ImageConfig, reg prometheus.Registerer, log *slog.Logger) (*imageService, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &imageService{
		db:       db,
		cfg:      cfg,
		log:      log,
		met:      newImageMetrics(reg),
		limits:   scaler.Limits{MaxPixels: cfg.MaxPixels},
		limiter:  scaler.NewLimiter(cfg.MaxResizes),
		budget:   scaler.NewBudget(cfg.DecodeMemory),
		est:      scaler.NewEstimator(0),
		infos:    newInfoCache(infoCacheSize),
		jobs:     make(chan string, cfg.PrecomputeQueue),
		kicks:    make(chan struct{}, 1),
		queued:   make(map[string]bool),
		watchers: make(chan struct{}, maxDeliveryWatchers),
		ctx:      ctx,
		cancel:   cancel,
	}
	if cfg.Scale != ScaleDynamic {
		for range cfg.PrecomputeWorkers {
			s.wg.Go(s.precomputeLoop)
		}
		if cfg.SweepInterval > 0 {
			s.wg.Go(s.sweepLoop)
		}
	}
	return s, nil
}

// Close stops the workers, the sweep and the delivery watchers, and waits
// for them; a precompute in progress finishes its current image first.
func (s *imageService) Close() {
	s.closeMu.Lock()
	s.closed = true
	s.closeMu.Unlock()
	s.cancel()
	s.wg.Wait()
}

// spawn runs fn in a goroutine Close waits for, unless Close has begun:
// a handler that outlived the server's shutdown deadline must not add to
// the WaitGroup while Close waits on it.
func (s *imageService) spawn(fn func()) bool {
	s.closeMu.RLock()
	defer s.closeMu.RUnlock()
	if s.closed {
		return false
	}
	s.wg.Go(fn)
	return true
}

// afterUpload queues the precompute of obj's variants. It never blocks the
// upload: with the queue full the job is dropped, as a request resizes on
// demand and the sweep retries it.
func (s *imageService) afterUpload(obj storage.Object) {
	if s.cfg.Scale == ScaleDynamic || obj.Deleted || !maybeImage(obj.ContentType) {
		return
	}
	if !s.enqueue(obj.SHA256, false) {
		s.met.dropped.Inc()
		s.log.Warn("precompute queue full, job dropped", "key", obj.Key, "sha256", obj.SHA256)
	}
}

// serve answers GET /v1/objects/{key}?w=widthParam.
func (s *imageService) serve(w http.ResponseWriter, r *http.Request, key, widthParam string) error {
	want, auto, err := parseWidth(widthParam)
	if err != nil {
		s.met.rejected.WithLabelValues(reasonBadWidth).Inc()
		return err
	}
	obj, err := s.db.Get(key)
	if err != nil {
		return err
	}
	info, err := s.probe(obj.SHA256)
	if err != nil {
		return s.reject(err)
	}
	h := w.Header()
	h.Set("Accept-CH", scaler.AcceptCH)
	cacheControl := cacheFixed
	if auto {
		c, public := s.chooseAuto(r, obj, info)
		want = c.Width
		h.Set("Vary", varyAuto)
		h.Set("X-Image-Class", c.Class)
		h.Set("X-Image-Evidence", c.Evidence)
		if !public {
			cacheControl = cachePrivate
		}
		s.met.auto.WithLabelValues(c.Class, c.Evidence).Inc()
		s.log.Debug("auto width", "key", key, "width", c.Width, "reason", c.Reason)
	}
	h.Set("Cache-Control", cacheControl)

	v, found, err := s.variantFor(r.Context(), obj.SHA256, info, want)
	if err != nil {
		if errors.Is(err, scaler.ErrBusy) {
			h.Set("Retry-After", "1")
		}
		return s.reject(err)
	}
	if !found {
		return s.serveOriginal(w, r, obj, info)
	}
	source := sourceDynamic
	if v.Precomputed {
		source = sourcePrecomputed
	}
	setImageHeaders(h, v.Width, source)
	s.met.served.WithLabelValues(source).Inc()
	start := time.Now()
	if err := serveBlob(w, r, variantETag(obj.SHA256, v.Width), v.ContentType, obj.Modified, bytes.NewReader(v.Data)); err != nil {
		return err
	}
	s.observe(r, int64(len(v.Data)), start)
	return nil
}

func (s *imageService) serveOriginal(w http.ResponseWriter, r *http.Request, obj storage.Object, info scaler.Info) error {
	o, blob, err := s.db.OpenObject(obj.Key)
	if err != nil {
		return err
	}
	defer blob.Close()
	if o.SHA256 != obj.SHA256 {
		// Overwritten since the probe: the width header would be wrong.
		return errStatus(http.StatusConflict, "object changed while serving; retry", nil)
	}
	setImageHeaders(w.Header(), info.Width, sourceOriginal)
	s.met.served.WithLabelValues(sourceOriginal).Inc()
	start := time.Now()
	if err := serveBlob(w, r, o.SHA256, o.ContentType, o.Modified, blob); err != nil {
		return err
	}
	s.observe(r, o.Size, start)
	return nil
}

// variantFor returns the variant serving width want of the image sha, or
// found false when the original serves it: want at or above the
// original's width, or, in precompute mode, no precomputed variant at
// least as wide.
func (s *imageService) variantFor(ctx context.Context, sha string, info scaler.Info, want int) (storage.Variant, bool, error) {
	if want >= info.Width {
		return storage.Variant{}, false, nil
	}
	if s.cfg.Scale == ScalePrecompute {
		w, ok, err := s.nearestPrecomputed(sha, want)
		if err != nil || !ok {
			return storage.Variant{}, false, err
		}
		want = w
	}
	v, err := s.db.GetVariant(sha, want)
	switch {
	case err == nil:
		return v, true, nil
	case !errors.Is(err, storage.ErrNotFound):
		return storage.Variant{}, false, err
	case s.cfg.Scale == ScalePrecompute:
		// Evicted or freed since listed: the original still serves.
		return storage.Variant{}, false, nil
	}
	v, err = s.resize(ctx, sha, info, want)
	return v, err == nil, err
}

// nearestPrecomputed picks the narrowest precomputed variant at least
// want wide.
func (s *imageService) nearestPrecomputed(sha string, want int) (int, bool, error) {
	vs, err := s.db.Variants(sha)
	if err != nil {
		return 0, false, err
	}
	for _, v := range vs { // sorted by width
		if v.Precomputed && v.Width >= want {
			return v.Width, true, nil
		}
	}
	return 0, false, nil
}

// Headers of image answers.
const (
	sourceOriginal    = "original"
	sourcePrecomputed = "precomputed"
	sourceDynamic     = "dynamic"

	// Explicit widths are a function of the URL and the object: shared
	// caches may keep them. Five minutes, because a key can be
	// overwritten; the ETag revalidates after that.
	cacheFixed = "public, max-age=300"
	// A ?w=auto answer picked from the server's own estimate of this
	// client's link depends on nothing a shared cache can key on.
	cachePrivate = "private, max-age=300"
	// ?w=auto answers vary on the hint classes only: the choice reads ECT
	// and Save-Data alone when ECT is sent, so that a cache keys on a
	// handful of values rather than on every Downlink figure.
	varyAuto = "ECT, Save-Data"
)

func setImageHeaders(h http.Header, width int, source string) {
	h.Set("X-Image-Width", fmt.Sprint(width))
	h.Set("X-Image-Source", source)
}

// variantETag differs from the object's ETag (its SHA-256) so that a cache
// holding one width never answers a conditional request for another.
func variantETag(sha string, width int) string {
	return fmt.Sprintf("%s-w%d", sha, width)
}

// variantsResponse is the body of GET /v1/variants/{key}.
type variantsResponse struct {
	Key      string        `json:"key"`
	Original originalJSON  `json:"original"`
	Variants []variantJSON `json:"variants"`
	// Error says why the image cannot be resized, when it cannot; the
	// original is still served without ?w=.
	Error string `json:"error,omitempty"`
}

// originalJSON leaves out width and height for content that is not an
// image this server reads.
type originalJSON struct {
	Width       int    `json:"width,omitempty"`
	Height      int    `json:"height,omitempty"`
	Bytes       int64  `json:"bytes"`
	ContentType string `json:"content_type"`
}

type variantJSON struct {
	Width       int    `json:"width"`
	Height      int    `json:"height"`
	Bytes       int64  `json:"bytes"`
	ContentType string `json:"content_type"`
	Precomputed bool   `json:"precomputed"`
}

// handleVariants lists an object's stored variants. A key that is not an
// image is 200 with the original's size and no variants (the listing
// describes what is stored; only ?w= asks for something impossible), an
// unknown key 404.
func (n *Node) handleVariants(w http.ResponseWriter, r *http.Request) error {
	key, err := objectKey(r)
	if err != nil {
		return err
	}
	obj, err := n.db.Get(key)
	if err != nil {
		return err
	}
	resp := variantsResponse{
		Key:      key,
		Original: originalJSON{Bytes: obj.Size, ContentType: obj.ContentType},
		Variants: []variantJSON{},
	}
	info, err := n.images.probe(obj.SHA256)
	switch {
	case err == nil:
		resp.Original.Width, resp.Original.Height = info.Width, info.Height
	case isContentError(err):
		if !errors.Is(err, scaler.ErrNotImage) {
			resp.Original.Width, resp.Original.Height = info.Width, info.Height
		}
		resp.Error = err.Error()
	default:
		return err
	}
	vs, err := n.db.Variants(obj.SHA256)
	if err != nil {
		return err
	}
	for _, v := range vs {
		resp.Variants = append(resp.Variants, variantJSON{
			Width: v.Width, Height: v.Height, Bytes: v.Bytes, ContentType: v.ContentType, Precomputed: v.Precomputed,
		})
	}
	w.Header().Set("Cache-Control", "no-cache")
	writeJSON(w, http.StatusOK, resp)
	return nil
}
