package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
)

// Content kinds. Neither codec looks at the content's bytes (Protobuf
// copies them, JSON base64-encodes them), so the kind should not matter;
// measuring three kinds checks that instead of assuming it.
const (
	KindRandom = "random"
	KindText   = "text"
	KindJPEG   = "jpeg"
)

// Kinds lists every content kind in the order the results show them.
var Kinds = []string{KindRandom, KindText, KindJPEG}

// stampLen is how many bytes Stamp rewrites.
const stampLen = 16

// Generate returns n bytes of the given kind, the same bytes for the same
// (kind, n, seed) on every machine.
func Generate(kind string, n int, seed uint64) ([]byte, error) {
	switch kind {
	case KindRandom:
		return randomBytes(n, seed), nil
	case KindText:
		return textBytes(n, seed), nil
	case KindJPEG:
		return jpegBytes(n, seed)
	}
	return nil, fmt.Errorf("generate: unknown kind %q", kind)
}

// Stamp returns a copy of base that differs from every other stamp's copy
// in a few bytes. Storage keeps equal content once (whole-blob dedup), so
// every upload of a run must send distinct content, or later repetitions
// would skip the write and look cheaper. JPEG content keeps the stamp in
// its comment segment so that the file stays a valid JPEG.
func Stamp(kind string, base []byte, stamp uint64) []byte {
	b := bytes.Clone(base)
	at := 0
	if kind == KindJPEG {
		at = jpegStampOffset
	}
	if len(b) < at+stampLen {
		// Tiny content: flip what there is.
		for i := range b {
			b[i] ^= byte(stamp >> (8 * (i % 8)))
		}
		return b
	}
	s := fmt.Sprintf("%016x", stamp)
	if kind == KindRandom {
		binary.BigEndian.PutUint64(b[at:], stamp)
		binary.BigEndian.PutUint64(b[at+8:], ^stamp)
		return b
	}
	copy(b[at:], s)
	return b
}

func randomBytes(n int, seed uint64) []byte {
	r := rand.NewChaCha8([32]byte{0: 'r', 1: byte(seed), 2: byte(seed >> 8), 3: byte(seed >> 16)})
	b := make([]byte, n)
	r.Read(b)
	return b
}

// words is the vocabulary of the text kind: English prose-like lines with
// punctuation, digits and newlines, as logs, HTML or JSON documents carry.
var words = []string{
	"the", "of", "and", "to", "in", "a", "is", "that", "for", "it", "as", "was", "with", "be", "by",
	"on", "not", "he", "this", "are", "or", "his", "from", "at", "which", "but", "have", "an", "had",
	"they", "you", "were", "their", "one", "all", "we", "can", "her", "has", "there", "been", "if",
	"more", "when", "will", "would", "who", "so", "no", "content", "delivery", "network", "server",
	"replication", "object", "upload", "latency", "bandwidth", "provider", "price", "request",
	"response", "encoding", "message", "cluster", "node", "storage", "cache", "image", "width",
	"2024", "17", "404", "200", "<p>", "</p>", "\"quoted\"", "{key:", "value}", "&amp;", "ä", "é",
}

func textBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 0x7465787400))
	var buf bytes.Buffer
	buf.Grow(n + 64)
	line := 0
	for buf.Len() < n {
		w := words[r.IntN(len(words))]
		if line == 0 {
			w = string(bytes.ToUpper([]byte(w[:1]))) + w[1:]
		}
		buf.WriteString(w)
		line += len(w) + 1
		switch {
		case line > 60+r.IntN(20):
			buf.WriteString(".\n")
			line = 0
		case r.IntN(12) == 0:
			buf.WriteString(", ")
		default:
			buf.WriteByte(' ')
		}
	}
	return buf.Bytes()[:n]
}

// jpegStampOffset is where the stamp goes in a generated JPEG: inside the
// comment segment that follows SOI (FFD8, FFFE, 2-byte length).
const jpegStampOffset = 6

// jpegSlack is the least padding a JPEG needs: one comment segment (4
// bytes) holding the stamp.
const jpegSlack = 4 + stampLen

// jpegBytes encodes a photo-like picture (smooth gradients, shapes and
// sensor-like noise) as a baseline JPEG of exactly n bytes: the picture's
// size is calibrated so that the JPEG comes out a little under n, and
// comment segments holding bytes of the JPEG's own entropy-coded data pad
// it to n. The result decodes as a normal JPEG.
func jpegBytes(n int, seed uint64) ([]byte, error) {
	const minJPEG = 1024
	if n < minJPEG {
		return nil, fmt.Errorf("jpeg: %d bytes is below the smallest generated JPEG (%d)", n, minJPEG)
	}
	// Calibrate bytes per pixel on a small sample of the same texture,
	// then correct it with each try's real size.
	sample, err := encodeJPEG(256, 256, seed)
	if err != nil {
		return nil, err
	}
	const header = 650.0 // quantisation and Huffman tables, about
	bpp := (float64(len(sample)) - header) / (256 * 256)
	target := 0.93 * float64(n)
	var out []byte
	for try := 0; try < 8; try++ {
		pixels := max((target-header)/bpp, 64)
		side := max(int(math.Sqrt(pixels)), 8)
		if out, err = encodeJPEG(max(side*4/3, 8), max(side*3/4, 8), seed); err != nil {
			return nil, err
		}
		fits := len(out) <= n-jpegSlack
		if fits && (float64(len(out)) >= 0.85*float64(n) || n < 8192) {
			break
		}
		if got := float64(len(out)) - header; got > 0 {
			bpp = got / float64(max(side*4/3, 8)*max(side*3/4, 8))
		}
		if !fits && side == 8 {
			break
		}
	}
	if len(out) > n-jpegSlack {
		return nil, fmt.Errorf("jpeg: could not make a JPEG under %d bytes (got %d)", n, len(out))
	}
	return padJPEG(out, n), nil
}

func encodeJPEG(w, h int, seed uint64) ([]byte, error) {
	r := rand.New(rand.NewPCG(seed, 0x6a706567))
	img := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	cx, cy := r.Float64()*float64(w), r.Float64()*float64(h)
	rad := float64(min(w, h)) / 3
	// Separable terms are computed once per row and column: a 64 MiB JPEG
	// is a 120-megapixel picture.
	colA, colS := make([]float64, w), make([]float64, w)
	for x := range w {
		fx := float64(x) / float64(w)
		colA[x], colS[x] = fx, math.Sin(fx*9)
	}
	for y := 0; y < h; y++ {
		fy := float64(y) / float64(h)
		sy, cyy := math.Sin(fy*5), math.Cos(fy*5)
		dy := float64(y) - cy
		row := img.Y[y*img.YStride:]
		for x := 0; x < w; x++ {
			fx := colA[x]
			// sin(a+b) = sin a cos b + cos a sin b, with cos a from sin a.
			v := 60 + 120*fx*(1-fy) + 40*(colS[x]*cyy+math.Sqrt(1-colS[x]*colS[x])*sy)
			dx := float64(x) - cx
			if d2 := dx*dx + dy*dy; d2 < rad*rad {
				v = 200 - 80*math.Sqrt(d2)/rad
			}
			v += float64(int(r.Uint32()&63)+int(r.Uint32()&63)-63) * 0.75 // sensor-like noise
			row[x] = clamp8(v)
		}
	}
	for y := 0; y < (h+1)/2; y++ {
		for x := 0; x < (w+1)/2; x++ {
			fx := float64(x) / float64(w)
			img.Cb[y*img.CStride+x] = clamp8(110 + 40*fx + r.NormFloat64()*4)
			img.Cr[y*img.CStride+x] = clamp8(140 - 30*fx + r.NormFloat64()*4)
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 88}); err != nil {
		return nil, fmt.Errorf("jpeg: %w", err)
	}
	return buf.Bytes(), nil
}

func clamp8(v float64) uint8 {
	return color.Gray{Y: uint8(max(0, min(255, v)))}.Y
}

// padJPEG inserts comment segments after SOI so the file is exactly n
// bytes. The first segment holds the stamp area; the padding repeats the
// file's own tail (entropy-coded data), so the bytes look like a JPEG's.
func padJPEG(j []byte, n int) []byte {
	out := make([]byte, 0, n)
	out = append(out, j[:2]...) // SOI
	rest := j[2:]
	need := n - len(j) // bytes of segments to add, markers included
	src := j[len(j)/2:]
	first := true
	for need > 0 {
		body := min(need-4, 65533)
		if need-4-body > 0 && need-4-body < 4 {
			body -= 4 // leave room for one more whole segment
		}
		out = append(out, 0xFF, 0xFE, byte((body+2)>>8), byte(body+2))
		for i := 0; i < body; i++ {
			out = append(out, src[i%len(src)])
		}
		if first {
			copy(out[jpegStampOffset:], "0000000000000000")
			first = false
		}
		need -= body + 4
	}
	return append(out, rest...)
}

// generatorVersion names the generators' output; bump it when they change
// so that cached content is made anew.
const generatorVersion = 1

// Cached returns Generate(kind, n, seed), kept in dir between runs: a
// 64 MiB JPEG takes seconds to make. An empty dir turns the cache off.
func Cached(dir, kind string, n int, seed uint64) ([]byte, error) {
	if dir == "" {
		return Generate(kind, n, seed)
	}
	name := filepath.Join(dir, fmt.Sprintf("v%d-%s-%d-%d.bin", generatorVersion, kind, n, seed))
	if b, err := os.ReadFile(name); err == nil && len(b) == n {
		return b, nil
	}
	b, err := Generate(kind, n, seed)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return b, nil // the cache is an optimisation only
	}
	tmp := name + ".tmp"
	if os.WriteFile(tmp, b, 0o644) == nil {
		os.Rename(tmp, name)
	}
	return b, nil
}
