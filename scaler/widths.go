package scaler

import (
	"slices"
)

// DefaultWidths are the variants computed at upload when none are configured.
var DefaultWidths = []int{160, 320, 640, 1280}

// Widths returns the variant widths worth precomputing for an image origW
// pixels wide: the configured widths (DefaultWidths when nil) that are
// positive and strictly narrower than the original, sorted and without
// duplicates. A width equal to the original's is left out as well, since
// the original itself serves it.
func Widths(origW int, configured []int) []int {
	if configured == nil {
		configured = DefaultWidths
	}
	out := make([]int, 0, len(configured))
	for _, w := range configured {
		if w > 0 && w < origW {
			out = append(out, w)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Fit reports whether a precomputed variant serves a request for width want,
// and which. Only an exact match counts: a client asking for w=300 expects
// an image 300 pixels wide (srcset and layout math depend on it), so a
// 320-pixel variant does not fit and the caller resizes on demand, then
// keeps the result so the next request finds it here. available need not be
// sorted. Requests at or above the original's width are the caller's to
// answer with the original (see ErrNoUpscale).
func Fit(want int, available []int) (int, bool) {
	if want <= 0 {
		return 0, false
	}
	if slices.Contains(available, want) {
		return want, true
	}
	return 0, false
}
