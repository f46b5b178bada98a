package scaler

import (
	"bufio"
	"errors"
	"fmt"
	"io"
)

// countGIFFrames walks a GIF's block structure and counts its image
// descriptors without running LZW, so a file of many frames costs reading,
// never decompressing. It stops with ErrTooManyFrames as soon as the count
// passes max (max <= 0: no limit).
func countGIFFrames(r io.Reader, max int) (int, error) {
	br := bufio.NewReader(r)
	var hdr [13]byte // signature, version, logical screen descriptor
	if _, err := io.ReadFull(br, hdr[:]); err != nil {
		return 0, gifEOF(err)
	}
	if string(hdr[:3]) != "GIF" {
		return 0, ErrNotImage
	}
	if hdr[10]&0x80 != 0 {
		if err := discard(br, 3<<((hdr[10]&7)+1)); err != nil {
			return 0, err
		}
	}
	frames := 0
	for {
		tag, err := br.ReadByte()
		if err == io.EOF && frames > 0 {
			// A missing trailer is common and harmless.
			return frames, nil
		}
		if err != nil {
			return frames, gifEOF(err)
		}
		switch tag {
		case 0x21: // extension: label, then sub-blocks
			if _, err := br.ReadByte(); err != nil {
				return frames, gifEOF(err)
			}
			if err := skipSubBlocks(br); err != nil {
				return frames, err
			}
		case 0x2C: // image descriptor
			var d [9]byte
			if _, err := io.ReadFull(br, d[:]); err != nil {
				return frames, gifEOF(err)
			}
			if d[8]&0x80 != 0 {
				if err := discard(br, 3<<((d[8]&7)+1)); err != nil {
					return frames, err
				}
			}
			if _, err := br.ReadByte(); err != nil { // LZW minimum code size
				return frames, gifEOF(err)
			}
			if err := skipSubBlocks(br); err != nil {
				return frames, err
			}
			frames++
			if max > 0 && frames > max {
				return frames, fmt.Errorf("gif over %d frames: %w", max, ErrTooManyFrames)
			}
		case 0x3B: // trailer
			if frames == 0 {
				return 0, fmt.Errorf("gif without frames: %w", ErrNotImage)
			}
			return frames, nil
		default:
			return frames, fmt.Errorf("gif block 0x%02x: %w", tag, ErrCorrupt)
		}
	}
}

func skipSubBlocks(br *bufio.Reader) error {
	for {
		n, err := br.ReadByte()
		if err != nil {
			return gifEOF(err)
		}
		if n == 0 {
			return nil
		}
		if err := discard(br, int(n)); err != nil {
			return err
		}
	}
}

func discard(br *bufio.Reader, n int) error {
	if _, err := br.Discard(n); err != nil {
		return gifEOF(err)
	}
	return nil
}

func gifEOF(err error) error {
	if errors.Is(err, ErrTooLarge) {
		return err
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("gif: %w", ErrTruncated)
	}
	return err
}
