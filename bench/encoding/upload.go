package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/encoding/protowire"

	"metacdn/fixtures/ports"
	"metacdn/uploader"
	"metacdn/wire"
)

// UploadRow is one repetition of one end-to-end upload configuration: a
// batch of uploads of distinct content, per-upload figures.
type UploadRow struct {
	Link      string
	Encoding  string
	Kind      string
	Size      int
	Rep       int
	Batch     int     // uploads in this repetition
	WallNs    float64 // per upload, from the first byte sent to the ack
	WireUp    float64 // bytes per upload, client to server, HTTP included
	WireDown  float64 // bytes per upload, server to client
	Payload   float64 // message body bytes per upload
	Messages  float64 // messages per upload
	ServerCPU float64 // server CPU ns per upload (user+system)
	PeakRSS   int64   // server's peak RssAnon during the repetition, bytes
	BaseRSS   int64   // server's RssAnon before the configuration's first upload
	Load      float64 // 1-minute load average after the repetition
}

// bodyCounter records the body size of every request it sends: the
// encoded message, without HTTP framing.
type bodyCounter struct {
	next     http.RoundTripper
	bytes    atomic.Int64
	messages atomic.Int64
}

func (b *bodyCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodPost {
		b.bytes.Add(r.ContentLength)
		b.messages.Add(1)
	}
	return b.next.RoundTrip(r)
}

// batchFor is how many uploads one repetition makes: small files are
// uploaded in batches so that a repetition lasts long enough for the
// 10 ms resolution of /proc CPU times and for a stable wall time.
func batchFor(size int, quick bool) int {
	if quick {
		return max(1, min(8, (64<<10)/size))
	}
	return max(1, min(100, (1<<20)/size))
}

// RunUploads measures end-to-end uploads for one link. Per size and kind
// it starts two fresh server processes, one per encoding, and alternates
// between them repetition by repetition (JSON first in even repetitions,
// Protobuf first in odd ones): load from elsewhere on the machine then
// falls on both encodings alike, and each repetition is a pair.
func RunUploads(ctx context.Context, cfg Config, spec LinkSpec, kinds []string, sizes []int, contents map[string]map[int][]byte, checks *Checks, logf func(string, ...any)) ([]UploadRow, error) {
	var rows []UploadRow
	for _, size := range sizes {
		for _, kind := range kinds {
			r, err := uploadCell(ctx, cfg, spec, kind, size, contents[kind][size], checks)
			if err != nil {
				return nil, fmt.Errorf("uploads %s %s %d: %w", spec.Name, kind, size, err)
			}
			rows = append(rows, r...)
			for _, enc := range []string{"json", "protobuf"} {
				var w, up []float64
				for _, x := range r {
					if x.Encoding == enc {
						w, up = append(w, x.WallNs), append(up, x.WireUp)
					}
				}
				s := Summarize(w)
				logf("upload %-8s %-8s %-6s %9d B: %s per upload (cv %.1f%%), %.0f B up", spec.Name, enc, kind, size, fmtNs(s.Median), 100*s.CV, Summarize(up).Median)
			}
		}
	}
	return rows, nil
}

// uploadTarget is one server under test with its link and its client.
type uploadTarget struct {
	enc     wire.Encoding
	srv     *Server
	link    *Link
	bc      *bodyCounter
	up      *uploader.Uploader
	baseRSS int64
}

func (t *uploadTarget) close() {
	if t.link != nil {
		t.link.Close()
	}
	if t.srv != nil {
		t.srv.Stop()
	}
}

func startTarget(ctx context.Context, cfg Config, spec LinkSpec, enc wire.Encoding, dir, name string) (*uploadTarget, error) {
	addr, err := ports.Free()
	if err != nil {
		return nil, err
	}
	t := &uploadTarget{enc: enc}
	// The upload program's own encoding is what is measured here; the
	// server's --encoding only matters between peers, but is set alike.
	if t.srv, err = StartServer(ctx, cfg.ServerBin, dir, "u-"+string(enc), addr, "--encoding", string(enc)); err != nil {
		return nil, err
	}
	if t.link, err = OpenLink(spec, name+"-"+string(enc), t.srv.Listen); err != nil {
		t.close()
		return nil, err
	}
	t.bc = &bodyCounter{next: &http.Transport{MaxIdleConnsPerHost: 4}}
	t.up = &uploader.Uploader{Server: t.link.URL(), Encoding: enc, Client: &http.Client{Transport: t.bc, Timeout: 10 * time.Minute}}
	t.baseRSS, _ = RssAnon(t.srv.Pid())
	return t, nil
}

func uploadCell(ctx context.Context, cfg Config, spec LinkSpec, kind string, size int, base []byte, checks *Checks) ([]UploadRow, error) {
	dir, err := os.MkdirTemp(cfg.WorkDir, "up-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	var targets []*uploadTarget
	defer func() {
		for _, t := range targets {
			t.close()
		}
	}()
	for _, enc := range []wire.Encoding{wire.JSON, wire.Protobuf} {
		name := fmt.Sprintf("up-%s-%s-%d", spec.Name, kind, size)
		t, err := startTarget(ctx, cfg, spec, enc, dir, name)
		for try := 0; try < 3 && portTaken(err); try++ {
			t, err = startTarget(ctx, cfg, spec, enc, dir, fmt.Sprintf("%s-%d", name, try))
		}
		if err != nil {
			return nil, err
		}
		targets = append(targets, t)
	}

	// Warm-up: connections, the server's first allocations, bbolt's first
	// file growth. On a slow link a big file warms up with 4 MiB only.
	warm := base
	if spec.RateKBps > 0 && len(warm) > 4<<20 {
		warm = warm[:4<<20]
	}
	stamp := uint64(1 << 40)
	for w := 0; w < cfg.Warmup; w++ {
		for _, t := range targets {
			stamp++
			if _, _, err := uploadOne(ctx, t.up, kind, Stamp(kind, warm, stamp), fmt.Sprintf("warm/%d", w)); err != nil {
				return nil, fmt.Errorf("warm-up %s: %w", t.enc, err)
			}
		}
	}
	reps := cfg.Reps
	if spec.RateKBps > 0 && size > 4<<20 {
		reps = min(reps, cfg.SlowBig) // 30 s and more per upload
	}
	var rows []UploadRow
	for rep := 0; rep < reps; rep++ {
		for i := range targets {
			t := targets[(i+rep)%len(targets)] // alternate which goes first
			row, err := uploadBatch(ctx, cfg, spec, t, kind, size, base, rep, &stamp, checks)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", t.enc, err)
			}
			rows = append(rows, row)
		}
	}
	for _, t := range targets {
		var mine []UploadRow
		for _, r := range rows {
			if r.Encoding == string(t.enc) {
				mine = append(mine, r)
			}
		}
		checkRepeat(checks, spec, t.enc, kind, size, mine)
	}
	return rows, nil
}

// uploadBatch makes one measured repetition against one target: a batch of
// uploads of distinct content, then reads every object back.
func uploadBatch(ctx context.Context, cfg Config, spec LinkSpec, t *uploadTarget, kind string, size int, base []byte, rep int, stamp *uint64, checks *Checks) (UploadRow, error) {
	batch := batchFor(size, cfg.Quick)
	files := make([][]byte, batch)
	for i := range files {
		*stamp++
		files[i] = Stamp(kind, base, *stamp)
	}
	pid := t.srv.Pid()
	up0, down0 := t.link.Relay.Counts()
	body0, msg0 := t.bc.bytes.Load(), t.bc.messages.Load()
	cpu0, err := CPUTime(pid)
	if err != nil {
		return UploadRow{}, err
	}
	sched0, err := SchedTime(pid)
	if err != nil {
		return UploadRow{}, err
	}
	peak := StartPeakSampler(pid, 5*time.Millisecond)
	keys := make([]string, batch)
	sums := make([]string, batch)
	start := time.Now()
	for i, f := range files {
		keys[i] = fmt.Sprintf("bench/%s/%d/%d/%d", kind, size, rep, i)
		obj, sum, err := uploadOne(ctx, t.up, kind, f, keys[i])
		if err != nil {
			peak.Stop()
			return UploadRow{}, err
		}
		sums[i] = sum
		checks.Hard(obj.Sha256 == sum && obj.Size == int64(size), "ack-digest",
			"%s %s %s %d B rep %d: the server acknowledged the source's SHA-256 and size", spec.Name, t.enc, kind, size, rep)
	}
	wall := time.Since(start)
	peakRSS := peak.Stop()
	cpu1, err := CPUTime(pid)
	if err != nil {
		return UploadRow{}, err
	}
	sched1, err := SchedTime(pid)
	if err != nil {
		return UploadRow{}, err
	}
	// Two clocks of the same CPU time must agree within the ticks'
	// resolution (10 ms per thread that ran, a few threads) and 10%.
	tick, fine := (cpu1 - cpu0).Seconds(), (sched1 - sched0).Seconds()
	checks.Hard(math.Abs(tick-fine) <= 0.05+0.1*fine, "cpu-clocks",
		"%s %s %s %d B rep %d: /proc stat %.3f s vs schedstat %.3f s", spec.Name, t.enc, kind, size, rep, tick, fine)
	up1, down1 := t.link.Relay.Counts()
	n := float64(batch)
	row := UploadRow{Link: spec.Name, Encoding: string(t.enc), Kind: kind, Size: size, Rep: rep, Batch: batch,
		WallNs: float64(wall.Nanoseconds()) / n, WireUp: float64(up1-up0) / n, WireDown: float64(down1-down0) / n,
		Payload: float64(t.bc.bytes.Load()-body0) / n, Messages: float64(t.bc.messages.Load()-msg0) / n,
		ServerCPU: float64((sched1 - sched0).Nanoseconds()) / n, PeakRSS: peakRSS, BaseRSS: t.baseRSS, Load: LoadAvg()}

	// What the server stores must be byte-identical to the source: read it
	// back (directly, past the link, after the counters were read).
	verify := &http.Client{Timeout: 5 * time.Minute}
	for i, key := range keys {
		got, err := getDigest(ctx, verify, t.srv.Direct(), key)
		if err != nil {
			return UploadRow{}, err
		}
		if !checks.Hard(got == sums[i], "stored-digest", "%s %s %s %d B: GET returns the uploaded bytes", spec.Name, t.enc, kind, size) {
			return UploadRow{}, fmt.Errorf("%s: stored digest %s, source %s", key, got, sums[i])
		}
	}
	checkWire(checks, spec, t.enc, kind, size, row)
	checkLinkRate(checks, spec, t.enc, size, row)
	return row, nil
}

// uploadOne uploads content under key and returns the stored object and
// the source's digest.
func uploadOne(ctx context.Context, up *uploader.Uploader, kind string, content []byte, key string) (*wire.Object, string, error) {
	sum := sha256.Sum256(content)
	hexSum := hex.EncodeToString(sum[:])
	obj, err := up.Upload(ctx, uploader.UploadFile{Key: key, ContentType: "application/octet-stream",
		Meta: map[string]string{"kind": kind}, Size: int64(len(content)), Body: bytes.NewReader(content), SHA256: hexSum})
	if err != nil {
		return nil, "", fmt.Errorf("upload %s: %w", key, err)
	}
	return obj, hexSum, nil
}

// getDigest GETs an object and returns the SHA-256 of the body.
func getDigest(ctx context.Context, hc *http.Client, base, key string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/v1/objects/"+key, nil)
	if err != nil {
		return "", err
	}
	res, err := hc.Do(req)
	if err != nil {
		return "", fmt.Errorf("get %s: %w", key, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return "", fmt.Errorf("get %s: status %d", key, res.StatusCode)
	}
	h := sha256.New()
	if _, err := io.Copy(h, res.Body); err != nil {
		return "", fmt.Errorf("get %s: %w", key, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// checkWire compares the bytes on the wire with what the codecs predict:
// each message is the content's framing (Protobuf: tag and varint length;
// JSON: 4*ceil(k/3) base64 bytes per chunk of k) plus an envelope of a
// few hundred bytes at most; HTTP adds its headers.
func checkWire(checks *Checks, spec LinkSpec, enc wire.Encoding, kind string, size int, r UploadRow) {
	chunk := uploader.DefaultUploadChunk
	var framed float64
	for off := 0; off < size; off += chunk {
		k := min(chunk, size-off)
		if enc == wire.Protobuf {
			framed += float64(protowire.SizeTag(6) + protowire.SizeBytes(k))
		} else {
			framed += float64(4 * ((k + 2) / 3))
		}
	}
	msgs := max(r.Messages, 1)
	env := (r.Payload - framed) / msgs
	checks.Hard(env >= 0 && env <= 400, "envelope/"+string(enc),
		"%s %s %d B: %.0f B of message beyond the content's framing per message (want 0..400)", spec.Name, kind, size, env)
	hdr := (r.WireUp - r.Payload) / msgs
	checks.Hard(hdr >= 50 && hdr <= 1000, "http-overhead/"+string(enc),
		"%s %s %d B: %.0f B of HTTP request framing per message (want 50..1000)", spec.Name, kind, size, hdr)
	ratio := r.WireUp / float64(size)
	want := 1.0
	if enc == wire.JSON {
		want = 4.0 / 3
	}
	if size >= 256<<10 {
		checks.Hard(ratio >= want && ratio <= want*1.01, "wire-ratio/"+string(enc),
			"%s %s %d B: wire/content %.4f (want %.4f..%.4f)", spec.Name, kind, size, ratio, want, want*1.01)
	}
}

// checkLinkRate checks the network emulator: over the slow link, an
// upload of 256 KiB or more cannot move its bytes faster than the link's
// rate, and should reach most of it (the rest is the server's work and
// the answer's round trip).
func checkLinkRate(checks *Checks, spec LinkSpec, enc wire.Encoding, size int, r UploadRow) {
	if spec.RateKBps <= 0 || size < 256<<10 {
		return
	}
	rate := float64(spec.RateKBps) * 1000 // bytes/s
	got := r.WireUp / (r.WallNs / 1e9)
	checks.Hard(got <= 1.02*rate, "link-rate/"+string(enc), "%s %d B: %.2f MB/s through a %.2f MB/s link (want at most the link's rate)", spec.Name, size, got/1e6, rate/1e6)
	checks.Soft(got >= 0.8*rate, "link-use/"+string(enc), "%s %d B: %.0f%% of the link's rate used (want >= 80%%)", spec.Name, size, 100*got/rate)
}

// checkRepeat flags configurations whose repetitions disagree: the bytes
// must repeat exactly (they do not depend on timing), the wall time within
// the noise.
func checkRepeat(checks *Checks, spec LinkSpec, enc wire.Encoding, kind string, size int, rows []UploadRow) {
	var up, wall []float64
	for _, r := range rows {
		up, wall = append(up, r.WireUp), append(wall, r.WallNs)
	}
	su := Summarize(up)
	checks.Hard(su.Max-su.Min <= 0.005*su.Median+64, "bytes-repeat/"+string(enc),
		"%s %s %d B: wire bytes per upload %.0f..%.0f across repetitions", spec.Name, kind, size, su.Min, su.Max)
	sw := Summarize(wall)
	checks.Soft(sw.CV <= 0.15 && sw.Outliers == 0, "time-noise/"+string(enc),
		"%s %s %d B: wall time cv %.1f%%, %d outliers (want cv <= 15%%, none)", spec.Name, kind, size, 100*sw.CV, sw.Outliers)
}
