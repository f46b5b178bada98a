package scaler

import (
	"bytes"
	"fmt"
	"image"
	"image/draw"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"

	"golang.org/x/image/webp"

	"metacdn/scaler/internal/jpegscale"
)

// DefaultQuality is the JPEG quality used when Options.Quality is zero.
const DefaultQuality = 80

// Options tunes Resize. The zero value is ready to use.
type Options struct {
	// Quality is the JPEG quality, 1-100. 0 means DefaultQuality.
	Quality int

	// Filter picks the resampler. 0 means FilterDefault.
	Filter Filter

	// Limits bounds input and output. The zero value means the defaults.
	Limits Limits
}

// Result is an encoded, resized image.
type Result struct {
	Data        []byte
	Width       int
	Height      int
	Format      string // FormatJPEG or FormatPNG
	ContentType string // "image/jpeg" or "image/png"
}

// Resize decodes src, scales it to width pixels wide keeping the aspect
// ratio, and encodes the result.
//
// Height is round(origH*width/origW), at least 1. Output format: JPEG stays
// JPEG (Options.Quality), PNG stays PNG. A GIF becomes a PNG of its first
// frame: the animation is dropped, and PNG keeps the transparency without
// requantizing to 256 colors. A WebP becomes a JPEG when it has no alpha
// channel (lossy WebP is a photo) and a PNG otherwise, as the standard
// library has no WebP encoder.
//
// Resize never upscales: a width at or above the original's returns
// ErrNoUpscale, and the caller serves the original bytes unchanged. Other
// errors: ErrBadWidth, every error of Limits.Probe (checked before any pixel
// is decoded), ErrTruncated or ErrCorrupt from decoding, ErrOutputTooLarge.
func Resize(src []byte, width int, opts Options) (Result, error) {
	lim := opts.Limits.withDefaults()
	if opts.Filter == FilterVips {
		return resizeVips(src, width, opts.Quality, lim)
	}
	out, info, err := resizePixels(src, width, opts.Filter, lim)
	if err != nil {
		return Result{}, fmt.Errorf("resize: %w", err)
	}
	return encode(out, info.Format, opts.Quality, lim.MaxOutputBytes)
}

// resizePixels is Resize up to, not including, encoding.
func resizePixels(src []byte, width int, f Filter, lim Limits) (image.Image, Info, error) {
	if lim.MaxInputBytes > 0 && int64(len(src)) > lim.MaxInputBytes {
		return nil, Info{}, fmt.Errorf("%d bytes: %w", len(src), ErrTooLarge)
	}
	if width <= 0 {
		return nil, Info{}, fmt.Errorf("width %d: %w", width, ErrBadWidth)
	}
	info, err := lim.Probe(bytes.NewReader(src))
	if err != nil {
		return nil, info, err
	}
	if width >= info.Width {
		return nil, info, fmt.Errorf("width %d of %d: %w", width, info.Width, ErrNoUpscale)
	}
	if f == FilterVips {
		img, err := vipsPixels(src, info, width)
		return img, info, err
	}
	img, err := decodeScaled(src, info, width, f, true)
	return img, info, err
}

// decodeScaled decodes src and scales it to width displayed pixels, EXIF
// orientation applied. owned lets the scaler overwrite the decoded image.
func decodeScaled(src []byte, info Info, width int, f Filter, owned bool) (image.Image, error) {
	height := ScaledHeight(info.Width, info.Height, width)
	// Scale in stored orientation, turn the small result afterwards.
	tw, th := width, height
	if swapsAxes(info.Orientation) {
		tw, th = height, width
	}
	img, err := decode(src, info, jpegDenom(info, tw, th, f))
	if err != nil {
		return nil, err
	}
	return orient(scale(img, tw, th, f, owned), info.Orientation), nil
}

// ResizeReader is Resize for a stream: it reads at most
// Limits.MaxInputBytes from r, failing with ErrTooLarge past that.
func ResizeReader(r io.Reader, width int, opts Options) (Result, error) {
	lim := opts.Limits.withDefaults()
	var rd io.Reader = r
	if lim.MaxInputBytes > 0 {
		rd = &limitReader{r: r, n: lim.MaxInputBytes}
	}
	src, err := io.ReadAll(rd)
	if err != nil {
		return Result{}, fmt.Errorf("resize: read: %w", err)
	}
	return Resize(src, width, opts)
}

// ScaledHeight returns the height that keeps origW:origH at width w:
// rounded to the nearest pixel, at least 1.
func ScaledHeight(origW, origH, w int) int {
	if origW <= 0 {
		return 0
	}
	h := (int64(origH)*int64(w)*2 + int64(origW)) / (2 * int64(origW))
	return int(max(h, 1))
}

// jpegShrinkMargin is how much larger than the target a scaled JPEG decode
// stays in each dimension. The reduced IDCT is itself a good low-pass
// filter, so unlike the box step it needs no 2x margin: on the benchmark
// photo, margin 1 costs 2 dB of luma PSNR against Catmull-Rom (53 vs 55,
// both above x/image/draw's BiLinear) and decodes a quarter of the pixels.
var jpegShrinkMargin = 1

// jpegDenom picks the DCT-domain scale (1, 2, 4 or 8) for decoding a JPEG
// to be resized to w x h stored pixels: the largest that keeps
// jpegShrinkMargin. Only
// FilterFast uses it; the other filters are benchmarked as they are.
func jpegDenom(info Info, w, h int, f Filter) int {
	if info.Format != FormatJPEG || f.resolve() != FilterFast {
		return 1
	}
	sw, sh := info.stored()
	for _, d := range []int{8, 4, 2} {
		if sw/d >= jpegShrinkMargin*w && sh/d >= jpegShrinkMargin*h {
			return d
		}
	}
	return 1
}

// decode decodes pixels after Probe has vetted the header, a JPEG at
// 1/denom scale. GIF yields its first frame on a canvas of the logical
// screen size.
func decode(src []byte, info Info, denom int) (image.Image, error) {
	r := bytes.NewReader(src)
	var (
		img image.Image
		err error
	)
	switch info.Format {
	case FormatJPEG:
		// The fork decodes at full size exactly as image/jpeg does, and
		// adds a cap on progressive scans.
		img, err = jpegscale.DecodeScaled(r, denom)
	case FormatPNG:
		img, err = png.Decode(r)
	case FormatWebP:
		img, err = webp.Decode(r)
	case FormatGIF:
		img, err = gif.Decode(r)
		if err == nil && img.Bounds() != image.Rect(0, 0, info.Width, info.Height) {
			// GIFs have no EXIF: stored and displayed sizes agree.
			canvas := image.NewNRGBA(image.Rect(0, 0, info.Width, info.Height))
			draw.Draw(canvas, img.Bounds(), img, img.Bounds().Min, draw.Src)
			img = canvas
		}
	default:
		return nil, fmt.Errorf("decode %s: %w", info.Format, ErrNotImage)
	}
	if err != nil {
		return nil, fmt.Errorf("decode %s: %w", info.Format, decodeError(err))
	}
	return img, nil
}

func decodeError(err error) error {
	if isTruncated(err) {
		return fmt.Errorf("%w: %w", ErrTruncated, err)
	}
	return fmt.Errorf("%w: %w", ErrCorrupt, err)
}

// outputFormat says what Resize writes for an input format and decoded image.
func outputFormat(inFormat string, img image.Image) string {
	switch inFormat {
	case FormatJPEG:
		return FormatJPEG
	case FormatWebP:
		switch img.(type) {
		case *image.YCbCr, *image.Gray:
			return FormatJPEG
		}
	}
	return FormatPNG
}

func encode(img image.Image, inFormat string, quality int, maxBytes int64) (Result, error) {
	if quality <= 0 {
		quality = DefaultQuality
	}
	quality = min(quality, 100)
	format := outputFormat(inFormat, img)
	var buf bytes.Buffer
	w := &capWriter{w: &buf, n: maxBytes}
	var err error
	switch format {
	case FormatJPEG:
		err = jpeg.Encode(w, img, &jpeg.Options{Quality: quality})
	default:
		err = pngEncoder.Encode(w, img)
	}
	if err != nil {
		return Result{}, fmt.Errorf("encode %s: %w", format, err)
	}
	b := img.Bounds()
	return Result{Data: buf.Bytes(), Width: b.Dx(), Height: b.Dy(), Format: format, ContentType: contentType(format)}, nil
}

var pngEncoder = png.Encoder{CompressionLevel: png.DefaultCompression, BufferPool: &pngPool{}}

// capWriter fails the encoder as soon as it passes the output cap, rather
// than after it has written all of an oversized result.
type capWriter struct {
	w io.Writer
	n int64 // bytes still allowed; negative limit means none
}

func (c *capWriter) Write(p []byte) (int, error) {
	if c.n >= 0 {
		if int64(len(p)) > c.n {
			return 0, ErrOutputTooLarge
		}
		c.n -= int64(len(p))
	}
	return c.w.Write(p)
}
