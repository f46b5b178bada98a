package storage

import (
	"context"
	"errors"
	"strconv"
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

func TestValidateMeta(t *testing.T) {
	big := strings.Repeat("v", MaxMetaBytes)
	many := make(map[string]string)
	for i := range MaxMetaEntries + 1 {
		many["k"+strconv.Itoa(i)] = "v"
	}
	for name, tc := range map[string]struct {
		meta map[string]string
		ok   bool
	}{
		"None":           {nil, true},
		"Plain":          {map[string]string{"owner": "ann", "x-y_z.1": "a b\tc", "lang": "ελληνικά"}, true},
		"EmptyName":      {map[string]string{"": "x"}, false},
		"NameWithSpace":  {map[string]string{"a b": "x"}, false},
		"NameWithColon":  {map[string]string{"a:b": "x"}, false},
		"ValueWithCRLF":  {map[string]string{"a": "c\r\nX-Evil: 1"}, false},
		"ValueWithNUL":   {map[string]string{"a": "c\x00"}, false},
		"ValueNotUTF8":   {map[string]string{"a": "\xff"}, false},
		"TooManyEntries": {many, false},
		"TooManyBytes":   {map[string]string{"a": big}, false},
	} {
		t.Run(name, func(t *testing.T) {
			err := ValidateMeta(tc.meta)
			if tc.ok != (err == nil) || err != nil && !errors.Is(err, ErrInvalid) {
				t.Fatalf("ValidateMeta(%q) = %v, want ok %v (ErrInvalid otherwise)", tc.meta, err, tc.ok)
			}
		})
	}
}

// TestPut_BadMetaStoresNothing: a Put or an upload session with metadata
// out of bounds is refused before anything is written.
func TestPut_BadMetaStoresNothing(t *testing.T) {
	db := mustOpenDB(t)
	bad := map[string]string{"a": "c\r\nX-Evil: 1"}
	if _, err := db.Put(context.Background(), PutRequest{Key: "k", Meta: bad, Body: strings.NewReader("x")}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Put: %v, want ErrInvalid", err)
	}
	if _, err := db.BeginUpload("k", "", bad, 10); !errors.Is(err, ErrInvalid) {
		t.Fatalf("BeginUpload: %v, want ErrInvalid", err)
	}
	if _, err := db.BeginUpload("k", "", nil, -1); !errors.Is(err, ErrInvalid) {
		t.Fatalf("BeginUpload with a negative size: %v, want ErrInvalid", err)
	}
	if s := db.mustStats(); s.Objects != 0 || s.Uploads != 0 || s.Chunks != 0 {
		t.Fatalf("refused writes left %+v", s)
	}
}
