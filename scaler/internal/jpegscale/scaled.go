// Copyright 2026 The metacdn Authors. Scaled IDCT for the decoder forked
// from Go's image/jpeg; see LICENSE for the fork's terms.

package jpegscale

import (
	"image"
	"math"
)

// zigOf maps a natural-order coefficient index to its zig-zag index, where
// the quantization tables are stored.
var zigOf [blockSize]int

// scaledCos[n][x][u] is C(u)/2 * cos((2x+1)u*pi/(2n)) for output sizes
// n = 2 and 4, with C(0) = 1/sqrt(2). Evaluating the n-point inverse DCT on
// the n x n lowest coefficients of an 8x8 block yields the block shrunk by
// 8/n with its mean kept: the DC term alone gives F(0,0)/8, as the full
// IDCT's mean is.
var scaledCos [5][4][4]float32

func init() {
	for z, nat := range unzig {
		zigOf[nat] = z
		for _, n := range []int{1, 2, 4} {
			skipZigs[n][z] = nat/8 >= n || nat%8 >= n
		}
	}
	for _, n := range []int{2, 4} {
		for x := 0; x < n; x++ {
			for u := 0; u < n; u++ {
				c := 0.5
				if u == 0 {
					c = 0.5 / math.Sqrt2
				}
				scaledCos[n][x][u] = float32(c * math.Cos(float64(2*x+1)*float64(u)*math.Pi/float64(2*n)))
			}
		}
	}
}

// skipZigs[bs] marks, by zig-zag index, the coefficients a scaled IDCT of
// output size bs does not read.
var skipZigs [8][blockSize]bool

// skipZig returns the coefficients a sequential scan may step over, or nil
// when every one is needed.
func (d *decoder) skipZig() *[blockSize]bool {
	if d.bs == 8 || d.progressive {
		return nil
	}
	return &skipZigs[d.bs]
}

// outRect is the decoded image's bounds at the chosen scale.
func (d *decoder) outRect() image.Rectangle {
	return image.Rect(0, 0, (d.width*d.bs+7)/8, (d.height*d.bs+7)/8)
}

// reconstructScaled dequantizes the n x n lowest frequencies of b and writes
// their n-point inverse DCT, level shifted and clipped, to dst.
func reconstructScaled(b *block, qt *block, n int, dst []byte, stride int) {
	if n == 1 {
		dc := float32(b[0]*qt[0])/8 + 128.5
		dst[0] = clip(dc)
		return
	}
	if n == 2 {
		// The 2-point IDCT is sums and differences: C(u)/2*cos(...) is
		// +-1/(2*sqrt2) for every term, so each output is 1/8 of a signed
		// sum of the four lowest coefficients.
		f00 := b[0] * qt[0]
		f01 := b[1] * qt[zigOf[1]]
		f10 := b[8] * qt[zigOf[8]]
		f11 := b[9] * qt[zigOf[9]]
		a, c := f00+f10, f00-f10
		e, g := f01+f11, f01-f11
		dst[0] = clip8(a + e)
		dst[1] = clip8(a - e)
		dst[stride] = clip8(c + g)
		dst[stride+1] = clip8(c - g)
		return
	}
	cs := &scaledCos[n]
	var f, t [4][4]float32
	for v := 0; v < n; v++ {
		for u := 0; u < n; u++ {
			k := v*8 + u
			f[v][u] = float32(b[k] * qt[zigOf[k]])
		}
	}
	// Rows: t[v][x] = sum over u of cs[x][u] * f[v][u].
	for v := 0; v < n; v++ {
		for x := 0; x < n; x++ {
			var s float32
			for u := 0; u < n; u++ {
				s += cs[x][u] * f[v][u]
			}
			t[v][x] = s
		}
	}
	// Columns, then the +128 level shift (with 0.5 for rounding).
	for y := 0; y < n; y++ {
		row := dst[y*stride : y*stride+n]
		for x := range row {
			s := float32(128.5)
			for v := 0; v < n; v++ {
				s += cs[y][v] * t[v][x]
			}
			row[x] = clip(s)
		}
	}
}

// clip8 returns sum/8 + 128, rounded and clipped: the level-shifted pixel of
// an IDCT sum of eight times its value.
func clip8(sum int32) uint8 {
	v := (sum+4)>>3 + 128
	if uint32(v) > 255 {
		if v < 0 {
			return 0
		}
		return 255
	}
	return uint8(v)
}

func clip(v float32) uint8 {
	if v <= 0 {
		return 0
	}
	if v >= 255 {
		return 255
	}
	return uint8(v)
}
