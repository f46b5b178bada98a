package scaler

import (
	"math"
)

// plane is an 8-bit image of c interleaved channels: one for a Y, Cb or Cr
// plane or a gray image, four for RGBA. Working on planes lets a JPEG's
// YCbCr be resized as it was decoded, with no RGBA round trip.
type plane struct {
	pix    []uint8
	stride int // bytes between rows
	w, h   int // in pixels
	c      int // channels per pixel
}

func newPlane(w, h, c int) plane {
	return plane{pix: make([]uint8, w*h*c), stride: w * c, w: w, h: h, c: c}
}

func (p plane) row(y int) []uint8 {
	return p.pix[y*p.stride : y*p.stride+p.w*p.c]
}

// shrinkFactor returns the integer box factor that brings src down to no
// less than twice dst, where the kernel pass takes over: a box average
// reads each source byte once, which is what makes large downscales cheap,
// and the 2x margin leaves the kernel enough samples to hide the box's
// blockiness.
func shrinkFactor(srcW, srcH, dstW, dstH int) int {
	k := min(srcW/(2*dstW), srcH/(2*dstH))
	return max(k, 1)
}

// boxShrink averages k x k blocks. Up to k-1 trailing rows and columns are
// dropped: less than half an output pixel once the kernel pass follows.
func boxShrink(src plane, k int) plane {
	if k <= 1 {
		return src
	}
	c := src.c
	dst := newPlane(src.w/k, src.h/k, c)
	acc := make([]uint32, dst.w*c)
	inv := uint32((1<<24 + k*k/2) / (k * k))
	for y := 0; y < dst.h; y++ {
		clear(acc)
		for j := 0; j < k; j++ {
			sumRuns(acc, src.row(y*k+j), k, c)
		}
		out := dst.row(y)
		for i, a := range acc {
			out[i] = uint8((a*inv + 1<<23) >> 24)
		}
	}
	return dst
}

// sumRuns adds each run of k pixels of row into acc.
func sumRuns(acc []uint32, row []uint8, k, c int) {
	if c == 1 {
		switch k {
		case 2:
			for x := range acc {
				s := row[2*x : 2*x+2 : 2*x+2]
				acc[x] += uint32(s[0]) + uint32(s[1])
			}
			return
		case 3:
			for x := range acc {
				s := row[3*x : 3*x+3 : 3*x+3]
				acc[x] += uint32(s[0]) + uint32(s[1]) + uint32(s[2])
			}
			return
		case 4:
			for x := range acc {
				s := row[4*x : 4*x+4 : 4*x+4]
				acc[x] += uint32(s[0]) + uint32(s[1]) + uint32(s[2]) + uint32(s[3])
			}
			return
		}
		for x := range acc {
			var sum uint32
			for _, v := range row[k*x : k*x+k] {
				sum += uint32(v)
			}
			acc[x] += sum
		}
		return
	}
	n := len(acc) / c
	for x := 0; x < n; x++ {
		base := x * k * c
		for i := 0; i < k; i++ {
			for ch := 0; ch < c; ch++ {
				acc[x*c+ch] += uint32(row[base+i*c+ch])
			}
		}
	}
}

// kernel is a separable filter: f(x) for |x| < support.
type kernel struct {
	support float64
	f       func(float64) float64
}

var (
	catmullRom = kernel{2, func(x float64) float64 {
		x = math.Abs(x)
		if x < 1 {
			return (1.5*x-2.5)*x*x + 1
		}
		return ((-0.5*x+2.5)*x-4)*x + 2
	}}
)

const weightBits = 14

// weights holds, per output index, taps fixed-point weights starting at a
// source index; edges are clamped by folding weight onto the border sample.
type weights struct {
	taps  int
	start []int
	coef  []int32 // len(start)*taps
}

func makeWeights(srcN, dstN int, k kernel) weights {
	scale := float64(srcN) / float64(dstN)
	fscale := max(scale, 1)
	radius := k.support * fscale
	taps := int(math.Ceil(2*radius)) + 1
	taps = min(taps, srcN)
	w := weights{taps: taps, start: make([]int, dstN), coef: make([]int32, dstN*taps)}
	fw := make([]float64, taps)
	for i := 0; i < dstN; i++ {
		center := (float64(i)+0.5)*scale - 0.5
		first := int(math.Ceil(center - radius))
		start := min(max(first, 0), srcN-taps)
		w.start[i] = start
		clear(fw)
		var sum float64
		for j := first; j <= int(math.Floor(center+radius)); j++ {
			v := k.f((float64(j) - center) / fscale)
			if v == 0 {
				continue
			}
			src := min(max(j, 0), srcN-1) - start
			if src < 0 || src >= taps {
				continue // only when taps was capped by srcN
			}
			fw[src] += v
			sum += v
		}
		c := w.coef[i*taps : (i+1)*taps]
		var isum int32
		best := 0
		for t := range fw {
			c[t] = int32(math.Round(fw[t] / sum * (1 << weightBits)))
			isum += c[t]
			if c[t] > c[best] {
				best = t
			}
		}
		c[best] += 1<<weightBits - isum // exact unity gain
	}
	return w
}

func clamp8(v int32) uint8 {
	v = (v + 1<<(weightBits-1)) >> weightBits
	if uint32(v) > 255 {
		if v < 0 {
			return 0
		}
		return 255
	}
	return uint8(v)
}

// resample scales src to dw x dh with k, horizontally then vertically.
func resample(src plane, dw, dh int, k kernel) plane {
	c := src.c
	tmp := src
	if dw != src.w {
		wx := makeWeights(src.w, dw, k)
		tmp = newPlane(dw, src.h, c)
		for y := 0; y < src.h; y++ {
			hpass(tmp.row(y), src.row(y), wx, c)
		}
	}
	if dh == tmp.h {
		return tmp
	}
	wy := makeWeights(tmp.h, dh, k)
	dst := newPlane(dw, dh, c)
	acc := make([]int32, dw*c)
	for y := 0; y < dh; y++ {
		clear(acc)
		cs := wy.coef[y*wy.taps : (y+1)*wy.taps]
		for t, w := range cs {
			if w == 0 {
				continue
			}
			row := tmp.row(wy.start[y] + t)
			row = row[:len(acc)]
			for x, v := range row {
				acc[x] += w * int32(v)
			}
		}
		out := dst.row(y)
		for x, a := range acc {
			out[x] = clamp8(a)
		}
	}
	return dst
}

func hpass(out, in []uint8, wx weights, c int) {
	taps := wx.taps
	if c == 1 {
		for x := range out {
			cs := wx.coef[x*taps : (x+1)*taps : (x+1)*taps]
			s := in[wx.start[x]:]
			s = s[:len(cs)]
			var a int32
			for t, w := range cs {
				a += w * int32(s[t])
			}
			out[x] = clamp8(a)
		}
		return
	}
	n := len(out) / c
	var a [4]int32
	for x := 0; x < n; x++ {
		cs := wx.coef[x*taps : (x+1)*taps]
		base := wx.start[x] * c
		a = [4]int32{}
		for t, w := range cs {
			p := in[base+t*c : base+t*c+c]
			for ch := range p {
				a[ch] += w * int32(p[ch])
			}
		}
		for ch := 0; ch < c; ch++ {
			out[x*c+ch] = clamp8(a[ch])
		}
	}
}

// scalePlane is the fast path: box shrink to no less than twice the target,
// then the kernel.
func scalePlane(src plane, dw, dh int, k kernel) plane {
	f := shrinkFactor(src.w, src.h, dw, dh)
	return resample(boxShrink(src, f), dw, dh, k)
}
