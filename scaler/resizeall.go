package scaler

import (
	"bytes"
	"fmt"
	"slices"
)

// ResizeAll makes the variants of src for widths in one decode, as an
// upload precomputes them: one Result per width below the original's, in
// ascending width order, together with the original's Info. Widths at or
// above the original's and non-positive ones are skipped, as Widths would.
// A JPEG is decoded once, at the DCT scale the largest width allows, and
// each variant is scaled from that. Errors are Resize's, except that
// ErrNoUpscale never occurs (the result is just empty).
func ResizeAll(src []byte, widths []int, opts Options) ([]Result, Info, error) {
	lim := opts.Limits.withDefaults()
	if lim.MaxInputBytes > 0 && int64(len(src)) > lim.MaxInputBytes {
		return nil, Info{}, fmt.Errorf("resize all: %d bytes: %w", len(src), ErrTooLarge)
	}
	info, err := lim.Probe(bytes.NewReader(src))
	if err != nil {
		return nil, info, fmt.Errorf("resize all: %w", err)
	}
	ws := Widths(info.Width, slices.Clip(widths))
	if len(ws) == 0 {
		return nil, info, nil
	}
	if opts.Filter == FilterVips {
		// libvips decodes per width; shrink-on-load makes that cheap.
		out := make([]Result, 0, len(ws))
		for _, w := range ws {
			res, err := resizeVips(src, w, opts.Quality, lim)
			if err != nil {
				return out, info, fmt.Errorf("resize all: width %d: %w", w, err)
			}
			out = append(out, res)
		}
		return out, info, nil
	}
	top := ws[len(ws)-1]
	tw, th := top, ScaledHeight(info.Width, info.Height, top)
	if swapsAxes(info.Orientation) {
		tw, th = th, tw
	}
	img, err := decode(src, info, jpegDenom(info, tw, th, opts.Filter))
	if err != nil {
		return nil, info, fmt.Errorf("resize all: %w", err)
	}
	out := make([]Result, 0, len(ws))
	for _, w := range ws {
		h := ScaledHeight(info.Width, info.Height, w)
		sw, sh := w, h
		if swapsAxes(info.Orientation) {
			sw, sh = h, w
		}
		// Not owned: every width reads the same decoded image.
		scaled := orient(Scale(img, sw, sh, opts.Filter), info.Orientation)
		res, err := encode(scaled, info.Format, opts.Quality, lim.MaxOutputBytes)
		if err != nil {
			return out, info, fmt.Errorf("resize all: width %d: %w", w, err)
		}
		out = append(out, res)
	}
	return out, info, nil
}
