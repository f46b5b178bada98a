package scaler

import (
	"encoding/binary"
	"image"
	"image/draw"
)

// jpegOrientation returns the EXIF orientation (1-8) stored in a JPEG's
// APP1 segment among the header bytes hdr, or 1 when there is none or it is
// malformed. Cameras store pictures as the sensor saw them and record the
// turn in this tag; browsers apply it when showing the original, so a
// resized copy, which carries no EXIF, must apply it itself.
func jpegOrientation(hdr []byte) int {
	if len(hdr) < 4 || hdr[0] != 0xFF || hdr[1] != 0xD8 {
		return 1
	}
	p := hdr[2:]
	for len(p) >= 4 && p[0] == 0xFF {
		marker := p[1]
		if marker == 0xFF { // fill byte before a marker
			p = p[1:]
			continue
		}
		if marker == 0xDA || marker == 0xD9 { // scan or end: no more headers
			return 1
		}
		n := int(binary.BigEndian.Uint16(p[2:]))
		if n < 2 || len(p) < 2+n {
			return 1
		}
		seg := p[4 : 2+n]
		if marker == 0xE1 && len(seg) >= 6 && string(seg[:6]) == "Exif\x00\x00" {
			return tiffOrientation(seg[6:])
		}
		p = p[2+n:]
	}
	return 1
}

// tiffOrientation reads tag 0x0112 of IFD0 of a TIFF structure.
func tiffOrientation(t []byte) int {
	if len(t) < 8 {
		return 1
	}
	var bo binary.ByteOrder
	switch string(t[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return 1
	}
	ifd := int(bo.Uint32(t[4:]))
	if ifd < 8 || ifd+2 > len(t) {
		return 1
	}
	count := int(bo.Uint16(t[ifd:]))
	for i := 0; i < count; i++ {
		e := ifd + 2 + 12*i
		if e+12 > len(t) {
			return 1
		}
		if bo.Uint16(t[e:]) != 0x0112 {
			continue
		}
		// SHORT (type 3), one value, stored in the entry itself.
		if bo.Uint16(t[e+2:]) != 3 {
			return 1
		}
		if o := int(bo.Uint16(t[e+8:])); o >= 1 && o <= 8 {
			return o
		}
		return 1
	}
	return 1
}

// swapsAxes reports whether orientation o turns the picture a quarter, so
// that the displayed width is the stored height.
func swapsAxes(o int) bool { return o >= 5 && o <= 8 }

// orient applies EXIF orientation o to img, returning the picture as it is
// displayed. Resize calls it on the small scaled image, never on the full
// decode.
func orient(img image.Image, o int) image.Image {
	if o <= 1 || o > 8 {
		return img
	}
	b := img.Bounds()
	src, ok := img.(*image.RGBA)
	if !ok {
		src = image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
		draw.Draw(src, src.Rect, img, b.Min, draw.Src)
	}
	sw, sh := src.Rect.Dx(), src.Rect.Dy()
	dw, dh := sw, sh
	if swapsAxes(o) {
		dw, dh = sh, sw
	}
	dst := image.NewRGBA(image.Rect(0, 0, dw, dh))
	for y := 0; y < dh; y++ {
		row := dst.Pix[y*dst.Stride:]
		for x := 0; x < dw; x++ {
			var sx, sy int
			switch o {
			case 2: // mirrored
				sx, sy = sw-1-x, y
			case 3: // turned 180
				sx, sy = sw-1-x, sh-1-y
			case 4: // flipped
				sx, sy = x, sh-1-y
			case 5: // transposed
				sx, sy = y, x
			case 6: // turned 90 clockwise
				sx, sy = y, sh-1-x
			case 7: // transversed
				sx, sy = sw-1-y, sh-1-x
			case 8: // turned 90 counter-clockwise
				sx, sy = sw-1-y, x
			}
			copy(row[4*x:4*x+4], src.Pix[sy*src.Stride+4*sx:])
		}
	}
	return dst
}
