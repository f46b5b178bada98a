package main

import "testing"

func TestContentType(t *testing.T) {
	for name, want := range map[string]string{
		"photos/cat.jpg":  "image/jpeg",
		"index.html":      "text/html; charset=utf-8",
		"blob":            "",
		"dir.d/blob":      "",
		"x.no-such-type0": "",
	} {
		if got := contentType(name); got != want {
			t.Errorf("contentType(%q) = %q, want %q", name, got, want)
		}
	}
}
