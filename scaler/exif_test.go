package scaler

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"testing"
)

// exifApp1 builds an APP1 segment holding a TIFF IFD0 with one Orientation
// entry, in either byte order.
func exifApp1(o int, order binary.ByteOrder) []byte {
	t := make([]byte, 8+2+12+4)
	if order == binary.LittleEndian {
		copy(t, "II")
	} else {
		copy(t, "MM")
	}
	order.PutUint16(t[2:], 42)
	order.PutUint32(t[4:], 8) // IFD0 right after the header
	order.PutUint16(t[8:], 1) // one entry
	order.PutUint16(t[10:], 0x0112)
	order.PutUint16(t[12:], 3) // SHORT
	order.PutUint32(t[14:], 1) // count
	order.PutUint16(t[18:], uint16(o))
	payload := append([]byte("Exif\x00\x00"), t...)
	seg := []byte{0xFF, 0xE1, 0, 0}
	binary.BigEndian.PutUint16(seg[2:], uint16(len(payload)+2))
	return append(seg, payload...)
}

// withSegment inserts seg right after a JPEG's SOI marker.
func withSegment(jpg, seg []byte) []byte {
	out := append([]byte{}, jpg[:2]...)
	out = append(out, seg...)
	return append(out, jpg[2:]...)
}

func TestJPEGOrientation(t *testing.T) {
	for o := 1; o <= 8; o++ {
		for _, order := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
			b := withSegment(smallJPEG, exifApp1(o, order))
			if got := jpegOrientation(b); got != o {
				t.Fatalf("orientation %d %v: got %d", o, order, got)
			}
		}
	}
	good := exifApp1(6, binary.BigEndian)
	tests := []struct {
		name string
		data []byte
	}{
		{"None", smallJPEG},
		{"NotJPEG", smallPNG},
		{"Empty", nil},
		{"OutOfRange", withSegment(smallJPEG, exifApp1(9, binary.BigEndian))},
		{"Zero", withSegment(smallJPEG, exifApp1(0, binary.BigEndian))},
		{"CutSegment", append([]byte{0xFF, 0xD8}, good[:20]...)},
		{"BadByteOrder", withSegment(smallJPEG, bytes.Replace(good, []byte("MM"), []byte("XX"), 1))},
		{"WrongType", withSegment(smallJPEG, bytes.Replace(good, []byte{0x01, 0x12, 0x00, 0x03}, []byte{0x01, 0x12, 0x00, 0x04}, 1))},
		{"IFDOffsetPastEnd", withSegment(smallJPEG, bytes.Replace(good, []byte{0, 0, 0, 8, 0, 1}, []byte{0, 0, 0x7f, 8, 0, 1}, 1))},
		{"ManyEntriesShortIFD", withSegment(smallJPEG, bytes.Replace(bytes.Replace(good, []byte{0, 0, 0, 8, 0, 1}, []byte{0, 0, 0, 8, 0xff, 0xff}, 1), []byte{0x01, 0x12}, []byte{0x01, 0x10}, 1))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := jpegOrientation(tc.data); got != 1 {
				t.Fatalf("jpegOrientation=%d, want 1", got)
			}
		})
	}
}

// quadrantColors are the stored top-left, top-right, bottom-left and
// bottom-right colors of quadrants.
var quadrantColors = []color.RGBA{{220, 30, 30, 255}, {30, 200, 30, 255}, {30, 30, 220, 255}, {240, 240, 240, 255}}

// uprightQuadrants lists, per EXIF orientation, which stored quadrant
// shows at the displayed top-left, top-right, bottom-left and
// bottom-right, from the EXIF specification's pictures: 6 means the
// camera was turned clockwise, so the stored bottom-left comes up top-left.
var uprightQuadrants = [9][4]int{
	1: {0, 1, 2, 3},
	2: {1, 0, 3, 2},
	3: {3, 2, 1, 0},
	4: {2, 3, 0, 1},
	5: {0, 2, 1, 3},
	6: {2, 0, 3, 1},
	7: {3, 1, 2, 0},
	8: {1, 3, 0, 2},
}

// quadrants is a w x h JPEG in four flat colors, so any turn or mirror
// shows at once.
func quadrants(t *testing.T, w, h int) ([]byte, image.Image) {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	cs := quadrantColors
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			q := 0
			if x >= w/2 {
				q++
			}
			if y >= h/2 {
				q += 2
			}
			img.SetRGBA(x, y, cs[q])
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes(), img
}

// TestResize_Orientation resizes a JPEG under each EXIF orientation and
// compares with turning the full image first: widths count displayed
// pixels, and the output is upright without EXIF.
func TestResize_Orientation(t *testing.T) {
	stored, storedImg := quadrants(t, 128, 64)
	for o := 1; o <= 8; o++ {
		t.Run(fmt.Sprint(o), func(t *testing.T) {
			src := withSegment(stored, exifApp1(o, binary.LittleEndian))
			info, err := Probe(bytes.NewReader(src))
			if err != nil {
				t.Fatal(err)
			}
			wantW, wantH := 128, 64
			if o >= 5 {
				wantW, wantH = 64, 128
			}
			if info.Orientation != o || info.Width != wantW || info.Height != wantH {
				t.Fatalf("Probe=%+v, want orientation %d, %dx%d", info, o, wantW, wantH)
			}
			upright := orient(storedImg, o)
			for _, f := range []Filter{FilterFast, FilterCatmullRom} {
				res, err := Resize(src, 32, Options{Filter: f, Quality: 95})
				if err != nil {
					t.Fatal(err)
				}
				got := mustDecode(t, res.Data)
				if got.Bounds().Dx() != 32 || got.Bounds().Dy() != ScaledHeight(wantW, wantH, 32) {
					t.Fatalf("%v: size %v", f, got.Bounds())
				}
				want := Scale(upright, 32, got.Bounds().Dy(), FilterCatmullRom)
				if d := meanAbsDiff(got, want); d > 10 {
					t.Fatalf("%v: differs from the upright picture by %.1f", f, d)
				}
				checkQuadrants(t, got, uprightQuadrants[o])
			}
			all, _, err := ResizeAll(src, []int{16, 32}, Options{Quality: 95})
			if err != nil || len(all) != 2 {
				t.Fatalf("ResizeAll: %d results, %v", len(all), err)
			}
			got := mustDecode(t, all[1].Data)
			want := Scale(upright, 32, got.Bounds().Dy(), FilterCatmullRom)
			if d := meanAbsDiff(got, want); d > 10 {
				t.Fatalf("ResizeAll: differs from the upright picture by %.1f", d)
			}
			if _, err := Resize(src, wantW, Options{}); err == nil {
				t.Fatal("resize to the displayed width was not ErrNoUpscale")
			}
		})
	}
}

// checkQuadrants samples the middle of each quarter of img against the
// stored quadrant colors in order.
func checkQuadrants(t *testing.T, img image.Image, order [4]int) {
	t.Helper()
	b := img.Bounds()
	pts := []image.Point{{b.Dx() / 4, b.Dy() / 4}, {3 * b.Dx() / 4, b.Dy() / 4}, {b.Dx() / 4, 3 * b.Dy() / 4}, {3 * b.Dx() / 4, 3 * b.Dy() / 4}}
	for i, p := range pts {
		r, g, bl, _ := img.At(b.Min.X+p.X, b.Min.Y+p.Y).RGBA()
		want := quadrantColors[order[i]]
		if absDiff(uint8(r>>8), want.R) > 24 || absDiff(uint8(g>>8), want.G) > 24 || absDiff(uint8(bl>>8), want.B) > 24 {
			t.Fatalf("quarter %d = %d,%d,%d, want stored quadrant %d %v", i, r>>8, g>>8, bl>>8, order[i], want)
		}
	}
}
