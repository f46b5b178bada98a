package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	dir := t.TempDir()
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"--out", dir, "s1", "s2"}, &out, &errb); err != nil {
		t.Fatalf("run: %v (%s)", err, errb.String())
	}
	for _, f := range []string{"ca.pem", "ca-key.pem", "s1.pem", "s1-key.pem", "s2.pem", "s2-key.pem"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("missing %s: %v", f, err)
		}
	}
	if !strings.Contains(out.String(), "s2.pem") {
		t.Fatalf("output does not name the files: %s", out.String())
	}
}

func TestRun_Usage(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr error
	}{
		{"Help", []string{"-h"}, flag.ErrHelp},
		{"NoNames", []string{"--out", "x"}, nil},
		{"NoOut", []string{"s1"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			err := run(context.Background(), tc.args, &out, &errb)
			if err == nil {
				t.Fatalf("run(%v) succeeded", tc.args)
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if !strings.Contains(errb.String(), "Usage: certs --out DIR NAME") {
				t.Fatalf("no usage on stderr: %s", errb.String())
			}
		})
	}
}
