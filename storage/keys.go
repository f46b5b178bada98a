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

// Bounds of an object's user metadata. A GET sends each entry back as an
// X-Meta-* header, and clients cap what they take (curl 300 KB of headers,
// Python's http.client 100 headers): past these an object could be stored
// that no one can read.
const (
	MaxMetaEntries = 64
	MaxMetaBytes   = 16 << 10 // names and values together
)

// ValidateMeta reports whether meta can be an object's metadata: at most
// MaxMetaEntries entries of MaxMetaBytes in all, each name an HTTP token
// (the header X-Meta-NAME must be valid) and each value free of control
// characters other than tab (a header value cannot hold CR or LF).
func ValidateMeta(meta map[string]string) error {
	if len(meta) > MaxMetaEntries {
		return fmt.Errorf("metadata: %d entries, at most %d: %w", len(meta), MaxMetaEntries, ErrInvalid)
	}
	size := 0
	for name, value := range meta {
		size += len(name) + len(value)
		if name == "" {
			return fmt.Errorf("metadata: empty name: %w", ErrInvalid)
		}
		for i := 0; i < len(name); i++ {
			if !isTokenByte(name[i]) {
				return fmt.Errorf("metadata: name %q: byte %#x is not allowed in a header name: %w", clipName(name), name[i], ErrInvalid)
			}
		}
		for _, r := range value {
			if r != '\t' && unicode.IsControl(r) {
				return fmt.Errorf("metadata: value of %q: control character %U: %w", clipName(name), r, ErrInvalid)
			}
		}
		if !utf8.ValidString(value) {
			return fmt.Errorf("metadata: value of %q: not UTF-8: %w", clipName(name), ErrInvalid)
		}
	}
	if size > MaxMetaBytes {
		return fmt.Errorf("metadata: %d bytes, at most %d: %w", size, MaxMetaBytes, ErrInvalid)
	}
	return nil
}

// isTokenByte reports whether c may appear in an HTTP header name (a
// token, RFC 9110 5.6.2).
func isTokenByte(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// clipName shortens a metadata name for an error message.
func clipName(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}
