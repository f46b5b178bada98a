package node

import (
	"fmt"
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"

	"metacdn/storage"
)

// Scale modes: which way the server makes smaller images.
const (
	ScalePrecompute = "precompute"
	ScaleDynamic    = "dynamic"
	ScaleBoth       = "both"
)

// ImageConfig says how the node makes image variants.
type ImageConfig struct {
	Scale  string // precompute, dynamic or both
	Widths []int  // widths precomputed at upload
}

// DefaultImageConfig returns the defaults.
func DefaultImageConfig() ImageConfig {
	return ImageConfig{Scale: ScaleBoth, Widths: []int{160, 320, 640, 1280}}
}

// Validate names a bad field.
func (c ImageConfig) Validate() error {
	switch c.Scale {
	case ScalePrecompute, ScaleDynamic, ScaleBoth:
	default:
		return &ConfigError{"scale", fmt.Sprintf("%q: want precompute, dynamic or both", c.Scale)}
	}
	for _, w := range c.Widths {
		if w <= 0 {
			return &ConfigError{"widths", "widths must be positive"}
		}
	}
	return nil
}

type imageService struct {
	db  *storage.DB
	cfg ImageConfig
	log *slog.Logger
}

func newImageService(db *storage.DB, cfg ImageConfig, reg prometheus.Registerer, log *slog.Logger) (*imageService, error) {
	return &imageService{db: db, cfg: cfg, log: log}, nil
}

func (s *imageService) afterUpload(obj storage.Object) {}

func (s *imageService) serve(w http.ResponseWriter, r *http.Request, key, width string) error {
	return errStatus(http.StatusNotImplemented, "image variants are not available yet", nil)
}

func (n *Node) handleVariants(w http.ResponseWriter, r *http.Request) error {
	return errStatus(http.StatusNotImplemented, "image variants are not available yet", nil)
}

func (s *imageService) Close() {}
