package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"image/jpeg"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"

	"metacdn/wire"
)

// TestRun_Quick runs the whole harness on tiny sizes against real server
// processes and expects every hard sanity check to pass and every result
// file to be written.
func TestRun_Quick(t *testing.T) {
	cfg := QuickConfig()
	cfg.Out = t.TempDir()
	var log bytes.Buffer
	res, checks, err := Run(context.Background(), cfg, func(f string, a ...any) { fmt.Fprintf(&log, f+"\n", a...) })
	if err != nil {
		t.Log(log.String())
		if checks != nil {
			t.Log(checks.Report())
		}
		t.Fatalf("Run: %v", err)
	}
	if len(res.Micro) == 0 || len(res.Uploads) == 0 || len(res.Repl) == 0 || len(res.Bursts) == 0 || len(res.Beats) != 4 {
		t.Fatalf("results missing: %d micro, %d uploads, %d replication, %d bursts, %d idle",
			len(res.Micro), len(res.Uploads), len(res.Repl), len(res.Bursts), len(res.Beats))
	}
	for _, name := range []string{"micro.csv", "uploads.csv", "replication.csv", "replication_burst.csv", "heartbeat.csv",
		"summary.md", "checks.txt", "codec_throughput.png", "upload_time.png", "upload_wire_ratio.png", "replication_lag.png"} {
		st, err := os.Stat(filepath.Join(cfg.Out, name))
		if err != nil || st.Size() == 0 {
			t.Errorf("%s not written: %v", name, err)
		}
	}
	// Both encodings and both links were measured, with the bytes each
	// encoding must put on the wire.
	seen := map[string]bool{}
	for _, r := range res.Uploads {
		seen[r.Link+"/"+r.Encoding] = true
		if r.Encoding == "json" && r.WireUp < float64(4*r.Size/3) {
			t.Errorf("%s json %d B: %.0f B up, less than base64 of the content", r.Link, r.Size, r.WireUp)
		}
		if r.WireUp < float64(r.Size) || r.ServerCPU <= 0 || r.PeakRSS <= 0 {
			t.Errorf("implausible upload row: %+v", r)
		}
	}
	for _, k := range []string{"loopback/json", "loopback/protobuf", "slow/json", "slow/protobuf"} {
		if !seen[k] {
			t.Errorf("no uploads for %s", k)
		}
	}
	// The summary and plots can be redrawn from the CSV files alone.
	if err := Replot(cfg); err != nil {
		t.Fatalf("Replot: %v", err)
	}
	if len(checks.All()) < 100 {
		t.Errorf("only %d checks made", len(checks.All()))
	}
}

func TestExpectedSize(t *testing.T) {
	for _, n := range []int{0, 1, 2, 3, 4, 127, 128, 1000, 16383, 16384, 1 << 20} {
		content := bytes.Repeat([]byte{0xab}, n)
		m := uploadMessage("random", content)
		for _, enc := range []wire.Encoding{wire.JSON, wire.Protobuf} {
			checks := &Checks{}
			if _, err := checkSizes(checks, enc, "random", m); err != nil {
				t.Fatal(err)
			}
			if f := checks.Failed(); len(f) > 0 {
				t.Errorf("%s %d B: %s", enc, n, f[0].Detail)
			}
		}
	}
}

// TestCheckWire_Fails shows that the wire checks catch numbers that do not
// fit the codecs: a JSON upload that went out at Protobuf's size, and HTTP
// framing of zero bytes.
func TestCheckWire_Fails(t *testing.T) {
	checks := &Checks{}
	size := 1 << 20
	checkWire(checks, LinkSpec{Name: "loopback"}, wire.JSON, KindRandom, size,
		UploadRow{Size: size, Messages: 1, Payload: float64(size + 150), WireUp: float64(size + 150)})
	names := map[string]bool{}
	for _, f := range checks.Failed() {
		names[f.Name] = true
	}
	for _, want := range []string{"envelope/json", "http-overhead/json", "wire-ratio/json"} {
		if !names[want] {
			t.Errorf("check %s did not fail; failed: %v", want, names)
		}
	}
	// 4 MiB in 1 s through a 2.5 MB/s link is faster than the link.
	checks = &Checks{}
	checkLinkRate(checks, LinkSpec{Name: "slow", RateKBps: 2500}, wire.Protobuf, 4<<20, UploadRow{WireUp: 4 << 20, WallNs: 1e9})
	if f := checks.Failed(); len(f) != 1 || f[0].Name != "link-rate/protobuf" {
		t.Errorf("an upload faster than the link passed: %s", checks.Report())
	}
	checks = &Checks{}
	checkLinkRate(checks, LinkSpec{Name: "slow", RateKBps: 2500}, wire.Protobuf, 4<<20, UploadRow{WireUp: 4 << 20, WallNs: 1.7e9})
	if len(checks.Failed())+len(checks.Warnings()) != 0 {
		t.Errorf("an upload at 99%% of the link failed: %s", checks.Report())
	}
	checks = &Checks{}
	checkRepeat(checks, LinkSpec{Name: "loopback"}, wire.Protobuf, KindRandom, size,
		[]UploadRow{{WireUp: 1000, WallNs: 1}, {WireUp: 2000, WallNs: 1}})
	if len(checks.Failed()) != 1 {
		t.Errorf("differing wire bytes across repetitions passed: %s", checks.Report())
	}
}

func TestGenerate(t *testing.T) {
	for _, kind := range Kinds {
		for _, n := range []int{1024, 5000, 70000} {
			a, err := Generate(kind, n, 7)
			if err != nil {
				t.Fatalf("%s %d: %v", kind, n, err)
			}
			b, _ := Generate(kind, n, 7)
			if len(a) != n || !bytes.Equal(a, b) {
				t.Fatalf("%s %d: %d bytes, deterministic %v", kind, n, len(a), bytes.Equal(a, b))
			}
			s1, s2 := Stamp(kind, a, 1), Stamp(kind, a, 2)
			if sha256.Sum256(s1) == sha256.Sum256(s2) || len(s1) != n || bytes.Equal(s1, a) {
				t.Fatalf("%s %d: stamps do not make distinct content of the same size", kind, n)
			}
			if kind == KindJPEG {
				if _, err := jpeg.Decode(bytes.NewReader(s2)); err != nil {
					t.Fatalf("stamped %d B JPEG does not decode: %v", n, err)
				}
			}
		}
	}
	if _, err := Generate("nope", 10, 1); err == nil {
		t.Fatal("unknown kind accepted")
	}
}

func TestRelay_Counts(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		b := make([]byte, 1000)
		io.ReadFull(c, b)
		c.Write(b[:300])
	}()
	r, err := StartRelay(ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	c, err := net.Dial("tcp", r.Addr())
	if err != nil {
		t.Fatal(err)
	}
	c.Write(make([]byte, 1000))
	got, err := io.ReadAll(c)
	c.Close()
	if err != nil || len(got) != 300 {
		t.Fatalf("read %d bytes, %v; want 300", len(got), err)
	}
	// The relay counts a chunk after writing it on; the client may see EOF
	// first, so wait for the copier via Close.
	r.Close()
	if up, down := r.Counts(); up != 1000 || down != 300 {
		t.Fatalf("Counts()=%d,%d, want 1000,300", up, down)
	}
}

func TestSummarize(t *testing.T) {
	s := Summarize([]float64{10, 11, 9, 10, 100})
	if s.Median != 10 || s.Min != 9 || s.Max != 100 || s.Outliers != 1 {
		t.Fatalf("Summarize=%+v", s)
	}
	if s := Summarize([]float64{5, 5, 5}); s.CV != 0 || s.Outliers != 0 {
		t.Fatalf("constant: %+v", s)
	}
}

func TestRun_Flags(t *testing.T) {
	var out, errb bytes.Buffer
	for _, args := range [][]string{{"-phases", "bogus"}, {"-sizes", "12"}, {"-sizes", "x"}, {"-reps", "1"}} {
		if err := run(context.Background(), args, &out, &errb); err == nil || errors.Is(err, ErrChecksFailed) {
			t.Errorf("run %v: %v, want a usage error", args, err)
		}
	}
	if got, err := parseSizes("1K, 16k,4M"); err != nil || len(got) != 3 || got[2] != 4<<20 {
		t.Fatalf("parseSizes=%v, %v", got, err)
	}
	if got := snake("PeakRSSMax"); got != "peak_rss_max" {
		t.Errorf("snake(PeakRSSMax)=%q", got)
	}
	if got := snake("ObjectsPS"); got != "objects_ps" {
		t.Errorf("snake(ObjectsPS)=%q", got)
	}
}

// TestStartServer_PortTaken shows what the harness retries on: a server
// whose port another process holds fails with an error portTaken knows.
func TestStartServer_PortTaken(t *testing.T) {
	dir := t.TempDir()
	bin, err := BuildServer(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	s, err := StartServer(context.Background(), bin, dir, "taken", ln.Addr().String())
	if err == nil {
		s.Stop()
		t.Fatal("a server started on a port another listener holds")
	}
	if !portTaken(err) {
		t.Fatalf("portTaken(%v)=false, want true", err)
	}
	if portTaken(errors.New("address already in use")) {
		t.Fatal("portTaken is true for an error that is not ErrNotReady")
	}
}
