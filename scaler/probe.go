package scaler

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"image"
	_ "image/gif"  // registers GIF for image.DecodeConfig
	_ "image/jpeg" // registers JPEG for image.DecodeConfig
	_ "image/png"  // registers PNG for image.DecodeConfig
	"io"
	"strings"

	_ "golang.org/x/image/webp" // registers WebP for image.DecodeConfig
)

// Format names, as image.DecodeConfig reports them.
const (
	FormatJPEG = "jpeg"
	FormatPNG  = "png"
	FormatGIF  = "gif"
	FormatWebP = "webp"
)

// Info is what an image's header tells without decoding pixels.
type Info struct {
	Format string // one of the Format constants
	Width  int
	Height int
	Frames int // frames of a GIF; 1 for every other format

	// Orientation is the EXIF orientation of a JPEG, 1 (as stored) to 8;
	// 1 for other formats. Width and Height are as displayed, with the
	// orientation applied: for 5-8, a quarter turn, they are the stored
	// height and width. Resize's widths count displayed pixels too.
	Orientation int

	// Progressive is true for a progressive JPEG, whose decode holds the
	// whole frame's coefficients (see DecodeBytes).
	Progressive bool
	jpegPlanes  float64 // bytes per pixel of a JPEG's planes; 0 if unknown
}

// stored returns the dimensions of the pixels as encoded.
func (i Info) stored() (w, h int) {
	if swapsAxes(i.Orientation) {
		return i.Height, i.Width
	}
	return i.Width, i.Height
}

// ContentType returns the MIME type of the image's format.
func (i Info) ContentType() string {
	return contentType(i.Format)
}

func contentType(format string) string {
	switch format {
	case FormatJPEG:
		return "image/jpeg"
	case FormatPNG:
		return "image/png"
	case FormatGIF:
		return "image/gif"
	case FormatWebP:
		return "image/webp"
	}
	return "application/octet-stream"
}

// Probe reads the header of an image under the default Limits. See
// Limits.Probe.
func Probe(r io.Reader) (Info, error) {
	return Limits{}.Probe(r)
}

// Probe reads the image header from r and checks it against l, decoding no
// pixel data: a header claiming 100000x100000 pixels costs a few bytes of
// reading and no allocation. For GIF it also walks the block structure to
// count frames without decompressing them, reading at most MaxInputBytes.
//
// Errors: ErrNotImage for unknown formats or malformed headers, ErrTruncated
// when r ends inside the header, ErrTooManyPixels, ErrTooManyFrames, and
// ErrTooLarge when a GIF's frames run past MaxInputBytes.
func (l Limits) Probe(r io.Reader) (Info, error) {
	l = l.withDefaults()
	var rd io.Reader = r
	if l.MaxInputBytes > 0 {
		rd = &limitReader{r: r, n: l.MaxInputBytes}
	}
	br := bufio.NewReader(rd)
	// Record what DecodeConfig consumes so the GIF frame walker can start
	// again from the first byte without asking r to seek.
	var rec bytes.Buffer
	cfg, format, err := image.DecodeConfig(io.TeeReader(br, &rec))
	if err != nil {
		return Info{}, fmt.Errorf("probe: %w", configError(err))
	}
	info := Info{Format: format, Width: cfg.Width, Height: cfg.Height, Frames: 1, Orientation: 1}
	if format == FormatJPEG {
		// The EXIF segment precedes the frame header, so DecodeConfig has
		// already read it.
		info.Orientation = jpegOrientation(rec.Bytes())
		if prog, planes, ok := jpegFrame(rec.Bytes()); ok {
			info.Progressive, info.jpegPlanes = prog, planes
		}
		if swapsAxes(info.Orientation) {
			info.Width, info.Height = info.Height, info.Width
		}
	}
	if info.Width <= 0 || info.Height <= 0 {
		return Info{}, fmt.Errorf("probe: %w: %dx%d", ErrNotImage, info.Width, info.Height)
	}
	if l.MaxPixels > 0 && int64(info.Width)*int64(info.Height) > l.MaxPixels {
		return info, fmt.Errorf("probe: %dx%d over %d: %w", info.Width, info.Height, l.MaxPixels, ErrTooManyPixels)
	}
	if format == FormatGIF {
		n, err := countGIFFrames(io.MultiReader(&rec, br), l.MaxFrames)
		info.Frames = n
		if err != nil {
			return info, fmt.Errorf("probe: %w", err)
		}
	}
	return info, nil
}

// configError maps decoder errors onto the package's sentinels while keeping
// the decoder's message.
func configError(err error) error {
	switch {
	case errors.Is(err, ErrTooLarge):
		return err
	case errors.Is(err, image.ErrFormat):
		return ErrNotImage
	case isTruncated(err):
		return fmt.Errorf("%w: %w", ErrTruncated, err)
	}
	return fmt.Errorf("%w: %w", ErrNotImage, err)
}

// isTruncated reports an input that ended early. The decoders say so in
// their own words: image/gif wraps the EOF with %v rather than %w, image/jpeg
// reports "short Huffman data" when the scan stops mid-stream, and
// image/png "not enough pixel data" when the IDAT chunks do.
func isTruncated(err error) bool {
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return true
	}
	msg := err.Error()
	for _, s := range truncationMessages {
		if strings.HasSuffix(msg, s) {
			return true
		}
	}
	return false
}

var truncationMessages = []string{
	io.ErrUnexpectedEOF.Error(),
	": " + io.EOF.Error(),
	"short Huffman data",
	"not enough pixel data",
}

// limitReader is io.LimitReader that says so when the limit is hit, so a
// huge input is not mistaken for a truncated one.
type limitReader struct {
	r io.Reader
	n int64
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		// One probe byte tells "exactly at the limit" from "over it".
		var b [1]byte
		if n, _ := l.r.Read(b[:]); n > 0 {
			return 0, ErrTooLarge
		}
		return 0, io.EOF
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}
