// Package testimg draws deterministic test images for tests and benchmarks
// of anything that handles images (scaler, the node's image endpoints): photo-like pictures (smooth noise, gradients, hard edges,
// grain) that exercise a JPEG codec roughly like a real photo does, and
// patterns with transparency. The same arguments always give the same
// pixels, so golden files and benchmark inputs need not be committed.
package testimg

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/color/palette"
	"image/gif"
	"image/jpeg"
	"image/png"
)

// rng is splitmix64: tiny, fast and identical on every platform.
type rng uint64

func (r *rng) next() uint64 {
	*r += 0x9e3779b97f4a7c15
	z := uint64(*r)
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// grid is a coarse lattice of random values sampled bilinearly.
type grid struct {
	cell   int
	w, h   int
	values []int32 // 0..255 per channel, 3 channels
}

func newGrid(w, h, cell int, r *rng) grid {
	g := grid{cell: cell, w: w/cell + 2, h: h/cell + 2}
	g.values = make([]int32, g.w*g.h*3)
	for i := range g.values {
		g.values[i] = int32(r.next() & 255)
	}
	return g
}

// Photo draws a w x h photo-like image: four octaves of value noise over a
// diagonal gradient, a few hard-edged discs, and per-pixel grain.
func Photo(w, h int, seed uint64) *image.RGBA {
	r := rng(seed)
	grids := []grid{newGrid(w, h, 512, &r), newGrid(w, h, 97, &r), newGrid(w, h, 23, &r), newGrid(w, h, 6, &r)}
	amps := []int32{90, 60, 30, 14}
	type disc struct {
		x, y, r2 int
		c        [3]int32
	}
	discs := make([]disc, 12)
	for i := range discs {
		rad := int(r.next()%uint64(max(min(w, h)/6, 2))) + 2
		discs[i] = disc{int(r.next() % uint64(w)), int(r.next() % uint64(h)), rad * rad,
			[3]int32{int32(r.next() % 120), int32(r.next() % 120), int32(r.next() % 120)}}
	}
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	var acc [3]int32
	for y := 0; y < h; y++ {
		row := img.Pix[y*img.Stride:]
		for x := 0; x < w; x++ {
			base := int32((x + y) * 160 / (w + h))
			acc = [3]int32{base + 40, base + 20, 160 - base/2}
			for gi := range grids {
				g := &grids[gi]
				gx, gy := x/g.cell, y/g.cell
				fx := int32((x % g.cell) * 256 / g.cell)
				fy := int32((y % g.cell) * 256 / g.cell)
				i00 := (gy*g.w + gx) * 3
				i01 := i00 + 3
				i10 := i00 + g.w*3
				i11 := i10 + 3
				for c := 0; c < 3; c++ {
					top := g.values[i00+c]*(256-fx) + g.values[i01+c]*fx
					bot := g.values[i10+c]*(256-fx) + g.values[i11+c]*fx
					v := (top*(256-fy) + bot*fy) >> 16
					acc[c] += (v - 128) * amps[gi] / 128
				}
			}
			for _, d := range discs {
				dx, dy := x-d.x, y-d.y
				if dx*dx+dy*dy < d.r2 {
					acc[0] += d.c[0] - 60
					acc[1] += d.c[1] - 60
					acc[2] += d.c[2] - 60
				}
			}
			grain := int32(r.next()&15) - 8
			p := row[x*4 : x*4+4 : x*4+4]
			p[0] = clamp(acc[0] + grain)
			p[1] = clamp(acc[1] + grain)
			p[2] = clamp(acc[2] + grain)
			p[3] = 255
		}
	}
	return img
}

func clamp(v int32) uint8 {
	return uint8(min(max(v, 0), 255))
}

// PhotoJPEG encodes Photo(w, h, seed) as a JPEG at quality.
func PhotoJPEG(w, h int, seed uint64, quality int) []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, Photo(w, h, seed), &jpeg.Options{Quality: quality}); err != nil {
		panic(err) // writing to memory cannot fail
	}
	return b.Bytes()
}

// Pattern draws a w x h NRGBA image with a checkerboard, concentric rings
// (aliasing shows at once) and an alpha ramp from opaque left to clear
// right.
func Pattern(w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	cx, cy := w/2, h/2
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			dx, dy := x-cx, y-cy
			ring := uint8(0)
			if ((dx*dx+dy*dy)/(max(w, h)/2+1))%2 == 0 {
				ring = 255
			}
			check := uint8(60)
			if (x/8+y/8)%2 == 0 {
				check = 200
			}
			a := uint8(255 - x*255/max(w-1, 1))
			img.SetNRGBA(x, y, color.NRGBA{ring, check, uint8(x * 255 / max(w-1, 1)), a})
		}
	}
	return img
}

// PatternPNG encodes Pattern(w, h) as a PNG.
func PatternPNG(w, h int) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, Pattern(w, h)); err != nil {
		panic(err)
	}
	return b.Bytes()
}

// GIF encodes frames frames of w x h (each Pattern shifted, in the Plan 9
// palette) as an animated GIF.
func GIF(w, h, frames int) []byte {
	src := Pattern(w, h)
	g := &gif.GIF{}
	for f := 0; f < frames; f++ {
		p := image.NewPaletted(image.Rect(0, 0, w, h), palette.Plan9)
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				c := src.NRGBAAt((x+f)%w, y)
				c.A = 255
				p.Set(x, y, c)
			}
		}
		g.Image = append(g.Image, p)
		g.Delay = append(g.Delay, 10)
	}
	var b bytes.Buffer
	if err := gif.EncodeAll(&b, g); err != nil {
		panic(err)
	}
	return b.Bytes()
}

// PNGClaiming builds a PNG whose IHDR claims w x h RGBA pixels, followed
// by an IDAT of junk: a decompression bomb's shape without its bulk.
func PNGClaiming(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		var n [4]byte
		binary.BigEndian.PutUint32(n[:], uint32(len(data)))
		b.Write(n[:])
		crc := crc32.NewIEEE()
		crc.Write([]byte(typ))
		crc.Write(data)
		b.WriteString(typ)
		b.Write(data)
		binary.BigEndian.PutUint32(n[:], crc.Sum32())
		b.Write(n[:])
	}
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 6 // 8-bit RGBA
	chunk("IHDR", ihdr)
	chunk("IDAT", bytes.Repeat([]byte{0x78}, 1000))
	chunk("IEND", nil)
	return b.Bytes()
}
