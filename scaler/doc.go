// Package scaler turns image bytes into smaller images for clients on slow
// links: the variants a server precomputes at upload, the ones it resizes on
// request, and the width it picks for ?w=auto. It knows nothing of HTTP or
// storage: it takes bytes, an io.Reader or an image.Image, and a header
// getter for Client Hints.
//
// # Safety
//
// Every decode starts with Probe, which reads only the header through
// image.DecodeConfig and refuses images over Limits.MaxPixels (50
// megapixels by default) before a single pixel buffer is allocated. GIF
// frames are counted by walking the block structure without decompressing,
// and only the first frame is ever decoded. Truncated input yields
// ErrTruncated, garbage ErrNotImage or ErrCorrupt, a progressive JPEG of
// more than 100 scans (each scan walks the whole image) ErrCorrupt, and
// oversized output ErrOutputTooLarge, stopping the encoder as it crosses
// the cap. Probe's Info also estimates what the decode will take
// (Info.DecodeBytes, from the format, the JPEG's sampling and whether it is
// progressive), and a Budget caps the sum over the decodes running at once,
// beside the Limiter's count of them.
//
// # Resizing
//
// Resize keeps the aspect ratio (height rounded to the nearest pixel) and
// never upscales: a width at or above the original's is ErrNoUpscale, and
// the caller serves the original. JPEG stays JPEG, PNG stays PNG, a GIF
// becomes a PNG of its first frame, a WebP becomes JPEG or PNG (no encoder
// for WebP exists in the standard library); 16-bit PNGs come out 8-bit.
// ResizeAll makes several widths from one decode, for uploads.
//
// The default filter, FilterFast, is built for large JPEG downscales. The
// JPEG is decoded in the DCT domain straight to 1/2, 1/4 or 1/8 size
// (internal/jpegscale, a fork of image/jpeg with libjpeg's scaled IDCT),
// its Y, Cb and Cr planes are resized as decoded — an integer box average
// to no less than twice the target, then Catmull-Rom, chroma on a second
// core — and handed to the encoder as *image.YCbCr, with no RGBA round
// trip. Other filters (x/image/draw's CatmullRom, BiLinear and
// ApproxBiLinear, bild's Linear) stay selectable; BENCHMARKS.md compares
// them for speed and for fidelity against x/image/draw's CatmullRom, and
// against vipsthumbnail, which the default beats per process. Built with
// the vips tag (cgo, libvips), FilterVips runs libvips' thumbnail in process
// after scaler's own Probe.
//
// # Variants
//
// Widths lists the widths to precompute for an original (DefaultWidths,
// never as wide as the original). Fit answers whether a precomputed
// variant serves a request: only an exact width match does.
//
// # Choosing a width
//
// Choose picks the width for ?w=auto: the largest whose estimated size
// arrives within a target time at the client's link rate. The rate comes
// from Client Hints (ParseHints: Downlink, ECT, RTT, Save-Data), else from
// the server's own Estimator (per client EWMA over TCP_INFO delivery rates
// via TCPInfo, or over timed responses), else a default. The Choice carries
// a Class ("save-data", "slow-2g", "2g", "3g", "4g", "unknown") that a
// cache can key on, and a Reason for logs.
//
// # Concurrency
//
// Resize is safe for concurrent use. A Limiter caps how many run at once so
// that a server can answer 503 (ErrBusy from Limiter.Do) instead of queueing
// decodes of tens of megabytes each.
package scaler
