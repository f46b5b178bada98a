package storage

import (
	"errors"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestValidateKey(t *testing.T) {
	for _, tc := range []struct {
		name string
		key  string
		ok   bool
	}{
		{name: "Plain", key: "cat.jpg", ok: true},
		{name: "Path", key: "images/2026/cat.jpg", ok: true},
		{name: "Unicode", key: "фото/猫.jpg", ok: true},
		{name: "DotsInName", key: "a/..b/c..", ok: true},
		{name: "Spaces", key: "my file.txt", ok: true},
		{name: "MaxLen", key: strings.Repeat("a", MaxKeyLen), ok: true},
		{name: "Empty", key: ""},
		{name: "TooLong", key: strings.Repeat("a", MaxKeyLen+1)},
		{name: "DotDot", key: "a/../b"},
		{name: "DotDotOnly", key: ".."},
		{name: "Dot", key: "./a"},
		{name: "LeadingSlash", key: "/a"},
		{name: "TrailingSlash", key: "a/"},
		{name: "DoubleSlash", key: "a//b"},
		{name: "NUL", key: "a\x00b"},
		{name: "Newline", key: "a\nb"},
		{name: "DEL", key: "a\x7fb"},
		{name: "C1", key: "a\u0085b"},
		{name: "BadUTF8", key: "a\xffb"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateKey(tc.key)
			if tc.ok && err != nil {
				t.Fatalf("ValidateKey(%q)=%v, want nil", tc.key, err)
			}
			if !tc.ok && !errors.Is(err, ErrBadKey) {
				t.Fatalf("ValidateKey(%q)=%v, want ErrBadKey", tc.key, err)
			}
		})
	}
}

// FuzzValidateKey checks ValidateKey against the rules stated directly.
func FuzzValidateKey(f *testing.F) {
	for _, s := range []string{"a", "a/b", "../x", "a//b", "/", ".", "a\x00", "\xff", "ключ/值", strings.Repeat("x/", 600)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, key string) {
		err := ValidateKey(key)
		if err != nil && !errors.Is(err, ErrBadKey) {
			t.Fatalf("ValidateKey(%q)=%v: not ErrBadKey", key, err)
		}
		want := key != "" && len(key) <= MaxKeyLen && utf8.ValidString(key) &&
			!strings.ContainsFunc(key, unicode.IsControl)
		for _, seg := range strings.Split(key, "/") {
			if seg == "" || seg == "." || seg == ".." {
				want = false
			}
		}
		if got := err == nil; got != want {
			t.Fatalf("ValidateKey(%q) ok=%v, want %v", key, got, want)
		}
	})
}
