package scaler

import "errors"

var (
	// ErrNotImage is returned when the input is not in a format scaler reads
	// (JPEG, PNG, GIF, WebP) or its header is malformed.
	ErrNotImage = errors.New("scaler: not a supported image")

	// ErrTooManyPixels is returned when the header claims more pixels than
	// Limits.MaxPixels; nothing has been decoded at that point.
	ErrTooManyPixels = errors.New("scaler: image has too many pixels")

	// ErrTooManyFrames is returned when an animated GIF holds more frames than
	// Limits.MaxFrames.
	ErrTooManyFrames = errors.New("scaler: image has too many frames")

	// ErrTooLarge is returned when the input holds more bytes than
	// Limits.MaxInputBytes.
	ErrTooLarge = errors.New("scaler: input too large")

	// ErrTruncated is returned when the input ends before the image does.
	ErrTruncated = errors.New("scaler: truncated image")

	// ErrCorrupt is returned when the image data past a valid header cannot be
	// decoded.
	ErrCorrupt = errors.New("scaler: corrupt image data")

	// ErrNoUpscale is returned by Resize when the requested width is at least
	// the original's: the caller should serve the original bytes unchanged.
	ErrNoUpscale = errors.New("scaler: requested width not below original")

	// ErrBadWidth is returned when a requested width is zero or negative.
	ErrBadWidth = errors.New("scaler: width must be positive")

	// ErrOutputTooLarge is returned when the encoded result exceeds
	// Limits.MaxOutputBytes.
	ErrOutputTooLarge = errors.New("scaler: output too large")

	// ErrNoVips is returned for FilterVips by a build without the vips tag.
	ErrNoVips = errors.New("scaler: built without libvips (build tag vips)")

	// ErrBusy is returned by Limiter.Do when every slot is taken; callers
	// answer 503.
	ErrBusy = errors.New("scaler: too many resizes in progress")

	// ErrOverBudget is returned by a Budget asked for more memory than it
	// holds in all: the image is too costly to decode on this server.
	ErrOverBudget = errors.New("scaler: image needs more memory to decode than the budget")
)
