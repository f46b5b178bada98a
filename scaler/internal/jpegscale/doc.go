// Package jpegscale is Go's image/jpeg decoder (Go 1.26, BSD license, see
// LICENSE) with one addition: DecodeScaled decodes straight to 1/2, 1/4 or
// 1/8 size by running a reduced inverse DCT on each block's low
// frequencies, the trick libjpeg calls scaled decoding and libvips
// shrink-on-load. Huffman decoding is unchanged; the IDCT, level shift and
// pixel stores, about half of a full decode, shrink with the output.
//
// It also refuses images of more than MaxScans scans, which upstream decodes
// however many there are.
//
// Changes from upstream: package name, the scan counter, the AC loop of
// sequential scans stepping over coefficients a scaled IDCT ignores and
// inlining the Huffman table hit and RECEIVE/EXTEND, a 64-bit bit
// accumulator refilled several bytes at a time (ensureNBits), no
// image.RegisterFormat (scaler registers the standard decoder), the
// decoder's bs field and the block-size arithmetic in makeImg and
// reconstructBlock, scaled.go, and image/draw in place of the standard
// library's internal imageutil for YCbCrK images. FuzzDecode holds the fork
// to image/jpeg's output, pixel for pixel, at full size.
package jpegscale
