package storage

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxKeyLen is the longest key in bytes.
const MaxKeyLen = 1024

// ErrBadKey is returned when a key is not a clean UTF-8 path (see
// ValidateKey).
var ErrBadKey = errors.New("bad key")

// ValidateKey reports whether key can name an object: valid UTF-8, 1 to
// MaxKeyLen bytes, no control characters (NUL included), and slash-separated
// segments none of which is empty, "." or "..". The rules keep keys usable
// as URL paths and file names on any side of the system.
func ValidateKey(key string) error {
	if key == "" {
		return fmt.Errorf("%w: empty", ErrBadKey)
	}
	if len(key) > MaxKeyLen {
		return fmt.Errorf("%w: %d bytes, at most %d", ErrBadKey, len(key), MaxKeyLen)
	}
	if !utf8.ValidString(key) {
		return fmt.Errorf("%w: not UTF-8", ErrBadKey)
	}
	for _, r := range key {
		if unicode.IsControl(r) {
			return fmt.Errorf("%w: control character %U", ErrBadKey, r)
		}
	}
	for seg := range strings.SplitSeq(key, "/") {
		switch seg {
		case "":
			return fmt.Errorf("%w: empty path segment", ErrBadKey)
		case ".", "..":
			return fmt.Errorf("%w: %q segment", ErrBadKey, seg)
		}
	}
	return nil
}
