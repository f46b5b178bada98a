package node

import (
	"container/list"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"metacdn/scaler"
	"metacdn/storage"
)

// Reasons a resize was refused, the label of metacdn_image_rejections_total.
const (
	reasonBadWidth     = "bad_width"
	reasonNotImage     = "not_image"
	reasonTooManyPx    = "too_many_pixels"
	reasonTooManyFr    = "too_many_frames"
	reasonTooLarge     = "input_too_large"
	reasonTruncated    = "truncated"
	reasonCorrupt      = "corrupt"
	reasonOutputTooBig = "output_too_large"
	reasonBusy         = "busy"
	reasonOverBudget   = "over_decode_memory"
)

var errBadWidth = errStatus(http.StatusBadRequest,
	fmt.Sprintf("w must be a whole number of pixels from 1 to %d, or auto", MaxRequestWidth), nil)

// parseWidth reads ?w=: a width in pixels or "auto".
func parseWidth(s string) (width int, auto bool, err error) {
	if strings.EqualFold(s, "auto") {
		return 0, true, nil
	}
	w, err := strconv.Atoi(s)
	if err != nil || w < 1 || w > MaxRequestWidth {
		return 0, false, errBadWidth
	}
	return w, false, nil
}

// maybeImage reports whether content of this type is worth probing: image
// types, and the types a client sends when it does not know.
func maybeImage(contentType string) bool {
	ct := strings.ToLower(contentType)
	return strings.HasPrefix(ct, "image/") || ct == "" || strings.HasPrefix(ct, "application/octet-stream")
}

// reject maps scaler's errors to the client's answer and counts them.
// Errors scaler does not name pass through to the generic mapping.
func (s *imageService) reject(err error) error {
	var (
		status = http.StatusUnprocessableEntity
		reason string
		msg    string
	)
	switch {
	case errors.Is(err, scaler.ErrBusy):
		status, reason, msg = http.StatusServiceUnavailable, reasonBusy, "too many images being resized; retry in a second"
	case errors.Is(err, scaler.ErrNotImage):
		status, reason, msg = http.StatusUnsupportedMediaType, reasonNotImage,
			"not an image this server resizes (JPEG, PNG, GIF, WebP); fetch it without ?w="
	case errors.Is(err, scaler.ErrOverBudget):
		reason, msg = reasonOverBudget, "image needs more memory to resize than this server allows (--decode-memory); fetch it without ?w="
	case errors.Is(err, scaler.ErrTooManyPixels):
		reason, msg = reasonTooManyPx, fmt.Sprintf("image over this server's limit of %d pixels (--max-pixels); fetch it without ?w=", s.cfg.MaxPixels)
	case errors.Is(err, scaler.ErrTooManyFrames):
		reason, msg = reasonTooManyFr, "animated image has too many frames to resize; fetch it without ?w="
	case errors.Is(err, scaler.ErrTooLarge):
		reason, msg = reasonTooLarge, "image file too large to resize; fetch it without ?w="
	case errors.Is(err, scaler.ErrTruncated):
		reason, msg = reasonTruncated, "image data is truncated; fetch it without ?w="
	case errors.Is(err, scaler.ErrCorrupt):
		reason, msg = reasonCorrupt, "image data is corrupt; fetch it without ?w="
	case errors.Is(err, scaler.ErrOutputTooLarge):
		reason, msg = reasonOutputTooBig, "the resized image would be over the output size limit; ask for a smaller w"
	default:
		return err
	}
	s.met.rejected.WithLabelValues(reason).Inc()
	return errStatus(status, msg, err)
}

// isContentError reports an error that is a fact about the image bytes,
// so the same bytes will fail the same way: worth remembering.
func isContentError(err error) bool {
	for _, e := range []error{scaler.ErrNotImage, scaler.ErrTooManyPixels, scaler.ErrTooManyFrames, scaler.ErrOverBudget,
		scaler.ErrTooLarge, scaler.ErrTruncated, scaler.ErrCorrupt} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// probe returns the header facts of the blob sha, from the cache when it
// was probed before: blobs are content-addressed, so neither the facts
// nor a refusal ever change. A blob that probed fine but failed to decode
// is cached as failed too (see markBad), so a bomb costs one decode.
func (s *imageService) probe(sha string) (scaler.Info, error) {
	if e, ok := s.infos.get(sha); ok {
		return e.info, e.err
	}
	info, err := s.probeBlob(sha)
	if err == nil || isContentError(err) {
		s.infos.put(sha, infoEntry{info, err})
	}
	return info, err
}

func (s *imageService) probeBlob(sha string) (scaler.Info, error) {
	br, err := s.db.OpenBlob(sha)
	if err != nil {
		return scaler.Info{}, err
	}
	defer br.Close()
	return s.limits.Probe(br)
}

// markBad remembers that sha failed to decode, keeping the header facts
// probed before.
func (s *imageService) markBad(sha string, err error) {
	if !isContentError(err) {
		return
	}
	e, _ := s.infos.get(sha)
	s.infos.put(sha, infoEntry{e.info, err})
}

// readBlob reads a whole source image, refusing one over the input limit
// before reading it.
func (s *imageService) readBlob(sha string) ([]byte, error) {
	br, err := s.db.OpenBlob(sha)
	if err != nil {
		return nil, err
	}
	defer br.Close()
	if br.Size() > scaler.DefaultMaxInputBytes {
		return nil, fmt.Errorf("read source: %d bytes: %w", br.Size(), scaler.ErrTooLarge)
	}
	b := make([]byte, br.Size())
	if _, err := io.ReadFull(br, b); err != nil {
		return nil, fmt.Errorf("read source: %w", err)
	}
	return b, nil
}

// infoCacheSize bounds the probe results kept: an entry is some 150
// bytes, so 4096 cost well under a megabyte.
const infoCacheSize = 4096

type infoEntry struct {
	info scaler.Info
	err  error
}

// infoCache is a small LRU of probe results by SHA-256.
type infoCache struct {
	mu    sync.Mutex
	size  int
	lru   *list.List // front = most recent; values are *infoItem
	items map[string]*list.Element
}

type infoItem struct {
	sha string
	e   infoEntry
}

func newInfoCache(size int) *infoCache {
	return &infoCache{size: size, lru: list.New(), items: make(map[string]*list.Element)}
}

func (c *infoCache) get(sha string) (infoEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[sha]
	if !ok {
		return infoEntry{}, false
	}
	c.lru.MoveToFront(el)
	return el.Value.(*infoItem).e, true
}

func (c *infoCache) put(sha string, e infoEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[sha]; ok {
		el.Value.(*infoItem).e = e
		c.lru.MoveToFront(el)
		return
	}
	if c.lru.Len() >= c.size {
		old := c.lru.Back()
		c.lru.Remove(old)
		delete(c.items, old.Value.(*infoItem).sha)
	}
	c.items[sha] = c.lru.PushFront(&infoItem{sha, e})
}

// errIsNotFound reports storage's not found, for callers that treat a
// vanished source as nothing to do.
func errIsNotFound(err error) bool { return errors.Is(err, storage.ErrNotFound) }
