package main

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRun_Flags(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"Help", []string{"-h"}, ""},
		{"NoDir", []string{"--dir", filepath.Join(t.TempDir(), "none")}, "Try: run from the repository's root"},
		{"BadSettle", []string{"--settle", "0s"}, "--settle"},
		{"Argument", []string{"extra"}, "unexpected argument"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(t.Context(), tc.args, &stdout, &stderr)
			if tc.want == "" {
				if !errors.Is(err, flag.ErrHelp) || !strings.Contains(stderr.String(), "Usage: scenarios") {
					t.Fatalf("run(-h) = %v, stderr %q", err, stderr.String())
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("run(%v) = %v, want an error with %q", tc.args, err, tc.want)
			}
		})
	}
}

// TestRun plays one small scenario end to end: servers, links, priceinfo
// and proxy in process, and the table on stdout. A wrong expectation
// makes the program fail and say so.
func TestRun(t *testing.T) {
	const sc = `{"name":"cheap-s2","weight":0.5,
	  "servers":[{"id":"s1","provider":"aws"},{"id":"s2","provider":"azure","latency_ms":20},{"id":"s3","provider":"gcp"}],
	  "prices":{"aws":{"egress_usd_per_gb":0.09,"server_usd_per_hour":0.03},
	            "azure":{"egress_usd_per_gb":0.01,"server_usd_per_hour":0.02},
	            "gcp":{"egress_usd_per_gb":0.08,"server_usd_per_hour":0.04}},
	  "checks":[{"object":"small","expect":{"price":"%s"}}]}`
	for _, tc := range []struct {
		name, want string
		ok         bool
	}{
		{"Right", "s2", true},
		{"Wrong", "s3", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "01.json"), []byte(strings.Replace(sc, "%s", tc.want, 1)), 0o644); err != nil {
				t.Fatal(err)
			}
			var stdout, stderr bytes.Buffer
			args := []string{"--dir", dir}
			if !tc.ok {
				args = append(args, "--settle", "1s")
			}
			err := run(t.Context(), args, &stdout, &stderr)
			if tc.ok && err != nil {
				t.Fatalf("run: %v\n%s\n%s", err, stdout.String(), stderr.String())
			}
			if !tc.ok && !errors.Is(err, errFailed) {
				t.Fatalf("run = %v, want errFailed\n%s\n%s", err, stdout.String(), stderr.String())
			}
			out := stdout.String()
			verdict := "ok"
			if !tc.ok {
				verdict = "FAIL"
			}
			for _, want := range []string{"cheap-s2", "small 1KiB", "20ms $0.01/GB $0.02/h", "-/" + tc.want + "/-", "-/s2/-", verdict} {
				if !strings.Contains(out, want) {
					t.Errorf("table lacks %q:\n%s", want, out)
				}
			}
		})
	}
}
