package scaler

// Defaults for the zero fields of Limits.
const (
	// DefaultMaxPixels caps width*height at 50 megapixels: a decoded RGBA
	// image of that size already takes 200 MB.
	DefaultMaxPixels = 50_000_000

	// DefaultMaxFrames caps the frames of an animated GIF. Only the first
	// frame is ever decoded, but counting frames walks the whole file.
	DefaultMaxFrames = 1000

	// DefaultMaxInputBytes caps how much Resize and the GIF frame counter
	// read.
	DefaultMaxInputBytes = 64 << 20

	// DefaultMaxOutputBytes caps an encoded result.
	DefaultMaxOutputBytes = 16 << 20
)

// Limits bounds the work and memory one image may cost. The zero value means
// the defaults above; a negative field means no limit.
type Limits struct {
	// MaxPixels caps width*height as the header states it, checked before
	// any pixel is decoded. 0 means DefaultMaxPixels.
	MaxPixels int64

	// MaxFrames caps the frame count of a GIF. 0 means DefaultMaxFrames.
	MaxFrames int

	// MaxInputBytes caps the bytes read from an io.Reader. 0 means
	// DefaultMaxInputBytes.
	MaxInputBytes int64

	// MaxOutputBytes caps an encoded result. 0 means DefaultMaxOutputBytes.
	MaxOutputBytes int64
}

// DefaultLimits returns the limits that the zero Limits stands for.
func DefaultLimits() Limits {
	return Limits{}.withDefaults()
}

func (l Limits) withDefaults() Limits {
	if l.MaxPixels == 0 {
		l.MaxPixels = DefaultMaxPixels
	}
	if l.MaxFrames == 0 {
		l.MaxFrames = DefaultMaxFrames
	}
	if l.MaxInputBytes == 0 {
		l.MaxInputBytes = DefaultMaxInputBytes
	}
	if l.MaxOutputBytes == 0 {
		l.MaxOutputBytes = DefaultMaxOutputBytes
	}
	return l
}
