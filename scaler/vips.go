//go:build vips

package scaler

/*
#cgo pkg-config: vips
#include <stdlib.h>
#include <vips/vips.h>

static int mc_vips_init(void) {
	if (VIPS_INIT("metacdn")) return -1;
	// No operation cache: every image is new, and the cache would hold
	// decoded pixels. One worker thread per resize: scaler's Limiter, not
	// libvips, decides how many run at once.
	vips_cache_set_max(0);
	vips_concurrency_set(1);
	return 0;
}

// Fit the width alone; the EXIF orientation is applied, as scaler does;
// truncated input fails, as it does in scaler, rather than coming out gray
// (libvips 8.14 heeds fail_on only as a loader option).
static int mc_thumbnail(void *buf, size_t len, int width, VipsImage **out) {
	return vips_thumbnail_buffer(buf, len, out, width, "height", 10000000, "size", VIPS_SIZE_DOWN,
		"option_string", "fail_on=truncated", NULL);
}

static int mc_jpegsave(VipsImage *in, void **buf, size_t *len, int q) {
	return vips_jpegsave_buffer(in, buf, len, "Q", q, "strip", TRUE, NULL);
}

static int mc_pngsave(VipsImage *in, void **buf, size_t *len) {
	return vips_pngsave_buffer(in, buf, len, "strip", TRUE, NULL);
}
*/
import "C"

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/png"
	"sync"
	"unsafe"
)

func init() {
	Filters = append(Filters, FilterVips)
}

var (
	vipsOnce sync.Once
	vipsErr  error
)

func vipsError(op string) error {
	msg := C.GoString(C.vips_error_buffer())
	C.vips_error_clear()
	return fmt.Errorf("vips %s: %w: %s", op, ErrCorrupt, msg)
}

// vipsThumb probes src with scaler's limits, then lets libvips decode,
// shrink and encode it. The input is copied to C memory: libvips decodes
// lazily, after the call that received the buffer has returned.
func vipsThumb(src []byte, width, quality int, lim Limits, forcePNG bool) (Result, Info, error) {
	vipsOnce.Do(func() {
		if C.mc_vips_init() != 0 {
			vipsErr = errors.New("vips init failed")
		}
	})
	if vipsErr != nil {
		return Result{}, Info{}, vipsErr
	}
	if lim.MaxInputBytes > 0 && int64(len(src)) > lim.MaxInputBytes {
		return Result{}, Info{}, fmt.Errorf("%d bytes: %w", len(src), ErrTooLarge)
	}
	if width <= 0 {
		return Result{}, Info{}, fmt.Errorf("width %d: %w", width, ErrBadWidth)
	}
	info, err := lim.Probe(bytes.NewReader(src))
	if err != nil {
		return Result{}, info, err
	}
	if width >= info.Width {
		return Result{}, info, fmt.Errorf("width %d of %d: %w", width, info.Width, ErrNoUpscale)
	}
	cbuf := C.CBytes(src)
	defer C.free(cbuf)
	var img *C.VipsImage
	if C.mc_thumbnail(cbuf, C.size_t(len(src)), C.int(width), &img) != 0 {
		return Result{}, info, vipsError("thumbnail")
	}
	defer C.g_object_unref(C.gpointer(img))

	format := FormatPNG
	if !forcePNG && (info.Format == FormatJPEG || (info.Format == FormatWebP && C.vips_image_hasalpha(img) == 0)) {
		format = FormatJPEG
	}
	if quality <= 0 {
		quality = DefaultQuality
	}
	var out unsafe.Pointer
	var n C.size_t
	var rc C.int
	if format == FormatJPEG {
		rc = C.mc_jpegsave(img, &out, &n, C.int(min(quality, 100)))
	} else {
		rc = C.mc_pngsave(img, &out, &n)
	}
	if rc != 0 {
		return Result{}, info, vipsError("save")
	}
	defer C.g_free(C.gpointer(out))
	if lim.MaxOutputBytes > 0 && int64(n) > lim.MaxOutputBytes {
		return Result{}, info, fmt.Errorf("encode %s: %w", format, ErrOutputTooLarge)
	}
	return Result{
		Data:        C.GoBytes(out, C.int(n)),
		Width:       int(C.vips_image_get_width(img)),
		Height:      int(C.vips_image_get_height(img)),
		Format:      format,
		ContentType: contentType(format),
	}, info, nil
}

func resizeVips(src []byte, width, quality int, lim Limits) (Result, error) {
	res, _, err := vipsThumb(src, width, quality, lim, false)
	if err != nil {
		return Result{}, fmt.Errorf("resize: %w", err)
	}
	return res, nil
}

// vipsPixels returns the pixels libvips makes, through a lossless PNG, for
// fidelity measurements.
func vipsPixels(src []byte, info Info, width int) (image.Image, error) {
	res, _, err := vipsThumb(src, width, 0, DefaultLimits(), true)
	if err != nil {
		return nil, err
	}
	return png.Decode(bytes.NewReader(res.Data))
}
