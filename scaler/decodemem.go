package scaler

import "encoding/binary"

// jpegFrame reads the frame header (SOFn) of a JPEG: whether it is
// progressive, and how many bytes per pixel its component planes take
// (1 for grey, 1.5 for 4:2:0 colour, 3 for 4:4:4). ok is false when no
// frame header is in hdr.
func jpegFrame(hdr []byte) (progressive bool, planes float64, ok bool) {
	if len(hdr) < 4 || hdr[0] != 0xFF || hdr[1] != 0xD8 {
		return false, 0, false
	}
	p := hdr[2:]
	for len(p) >= 4 && p[0] == 0xFF {
		marker := p[1]
		if marker == 0xFF {
			p = p[1:]
			continue
		}
		if marker == 0xDA || marker == 0xD9 {
			return false, 0, false
		}
		n := int(binary.BigEndian.Uint16(p[2:]))
		if n < 2 || len(p) < 2+n {
			return false, 0, false
		}
		seg := p[4 : 2+n]
		// SOF0-SOF15 but DHT (C4), JPG (C8) and DAC (CC).
		if marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC {
			return marker == 0xC2 || marker == 0xC6 || marker == 0xCA || marker == 0xCE, framePlanes(seg), true
		}
		p = p[2+n:]
	}
	return false, 0, false
}

// framePlanes sums each component's share of the full-resolution plane,
// from the sampling factors of a frame header (precision, height, width,
// component count, then id, HxV, table per component).
func framePlanes(seg []byte) float64 {
	if len(seg) < 6 {
		return 3
	}
	nc := int(seg[5])
	comps := seg[6:]
	if nc < 1 || len(comps) < 3*nc {
		return 3
	}
	var hmax, vmax int
	for i := 0; i < nc; i++ {
		h, v := int(comps[3*i+1]>>4), int(comps[3*i+1]&15)
		hmax, vmax = max(hmax, h), max(vmax, v)
	}
	if hmax == 0 || vmax == 0 {
		return 3
	}
	var sum float64
	for i := 0; i < nc; i++ {
		h, v := int(comps[3*i+1]>>4), int(comps[3*i+1]&15)
		sum += float64(h*v) / float64(hmax*vmax)
	}
	return sum
}

// DecodeBytes estimates the memory that decoding and resizing the image
// takes at most, from its header: the decoded pixels at full size (the
// component planes of a JPEG, 8 bytes per pixel for a PNG, which may be
// 16-bit, 4 for WebP, a palette index and an NRGBA canvas for a GIF), for a
// progressive JPEG its DCT coefficients as well (4 bytes per pixel per
// plane, held for the whole frame until the last scan), and 4 bytes per
// pixel for the resized result and the resampling's work. A 50-megapixel
// progressive 4:2:0 JPEG comes to about 575 MB; a 12-megapixel baseline
// one to about 66 MB.
func (i Info) DecodeBytes() int64 {
	px := float64(i.Width) * float64(i.Height)
	var perPixel float64
	switch i.Format {
	case FormatJPEG:
		planes := i.jpegPlanes
		if planes == 0 {
			planes = 3
		}
		perPixel = planes
		if i.Progressive {
			perPixel += 4 * planes
		}
	case FormatPNG:
		perPixel = 8
	case FormatGIF:
		perPixel = 1 + 4
	default:
		perPixel = 4
	}
	return int64(px * (perPixel + 4))
}
