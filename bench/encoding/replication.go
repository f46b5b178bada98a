package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"metacdn/fixtures/ports"
	"metacdn/uploader"
	"metacdn/wire"
)

// ReplRow is one replication of one object to the two other servers.
type ReplRow struct {
	Link      string
	Encoding  string // the servers' --encoding
	Size      int
	Rep       int
	LagNs     float64 // from the upload's ack until both peers serve it
	Lag2Ns    float64 // until the second server serves it
	Lag3Ns    float64 // until the third
	PeerBytes float64 // bytes between the servers from upload start to done
	Load      float64
}

// BurstRow is one burst: many small objects uploaded back to back.
type BurstRow struct {
	Link       string
	Encoding   string
	Objects    int
	Size       int
	Rep        int
	TotalNs    float64 // from the first upload's start until both peers serve the last object
	TailNs     float64 // from the last ack until both peers serve the last object
	PeerBytes  float64 // per object
	ObjectsPS  float64 // objects per second replicated
	ServerCPU  float64 // CPU ns per object, all three servers together
	PeakRSSMax int64   // largest peak RssAnon of the three servers
	Load       float64
}

// HeartbeatRow is the peer traffic of an idle cluster.
type HeartbeatRow struct {
	Link        string
	Encoding    string
	Seconds     float64
	BytesPerSec float64
}

// cluster is three servers that know each other through their links.
type cluster struct {
	enc     wire.Encoding
	servers []*Server
	links   []*Link
	up      *uploader.Uploader // to the first server, directly
}

func (c *cluster) close() {
	for _, s := range c.servers {
		s.Stop()
	}
	for _, l := range c.links {
		l.Close()
	}
}

// peerBytes is all bytes that crossed the servers' links so far: each
// server advertises its link, so peers reach each other only through them.
func (c *cluster) peerBytes() int64 {
	var n int64
	for _, l := range c.links {
		n += l.Relay.Total()
	}
	return n
}

func startCluster(ctx context.Context, cfg Config, spec LinkSpec, enc wire.Encoding, dir string) (*cluster, error) {
	c := &cluster{}
	var addrs []string
	for i := range 3 {
		a, err := ports.Free()
		if err != nil {
			return nil, err
		}
		addrs = append(addrs, a)
		l, err := OpenLink(spec, fmt.Sprintf("repl-%s-%s-%d-%d", spec.Name, enc, i, time.Now().UnixNano()), a)
		if err != nil {
			c.close()
			return nil, err
		}
		c.links = append(c.links, l)
	}
	providers := []string{"aws", "azure", "gcp"}
	for i := range 3 {
		var peers []string
		for j, l := range c.links {
			if j != i {
				peers = append(peers, l.URL())
			}
		}
		s, err := StartServer(ctx, cfg.ServerBin, dir, fmt.Sprintf("s%d", i+1), addrs[i],
			"--encoding", string(enc), "--advertise", c.links[i].URL(), "--peers", strings.Join(peers, ","),
			"--provider", providers[i])
		if err != nil {
			c.close()
			return nil, err
		}
		c.servers = append(c.servers, s)
	}
	for _, s := range c.servers {
		if err := s.WaitPeersAlive(ctx, 2, 60*time.Second); err != nil {
			c.close()
			return nil, err
		}
	}
	return c, nil
}

// RunReplication measures, per server encoding, the idle heartbeat
// traffic, the lag of single objects of each size, and a burst of small
// objects. Both clusters (one per encoding) run at once and the
// repetitions alternate between them, so that load from elsewhere falls
// on both alike.
func RunReplication(ctx context.Context, cfg Config, spec LinkSpec, sizes []int, contents map[string]map[int][]byte, checks *Checks, logf func(string, ...any)) ([]ReplRow, []BurstRow, []HeartbeatRow, error) {
	dir, err := os.MkdirTemp(cfg.WorkDir, "repl-")
	if err != nil {
		return nil, nil, nil, err
	}
	defer os.RemoveAll(dir)
	var clusters []*cluster
	defer func() {
		for _, c := range clusters {
			c.close()
		}
	}()
	for _, enc := range []wire.Encoding{wire.JSON, wire.Protobuf} {
		d := dir + "/" + string(enc)
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, nil, nil, err
		}
		c, err := startCluster(ctx, cfg, spec, enc, d)
		for try := 0; try < 3 && portTaken(err); try++ {
			d = fmt.Sprintf("%s/%s-%d", dir, enc, try)
			if err := os.MkdirAll(d, 0o755); err != nil {
				return nil, nil, nil, err
			}
			c, err = startCluster(ctx, cfg, spec, enc, d)
		}
		if err != nil {
			return nil, nil, nil, fmt.Errorf("replication %s %s: %w", spec.Name, enc, err)
		}
		c.enc = enc
		// The client uploads to s1 directly: only the servers' traffic is
		// on the links.
		c.up = &uploader.Uploader{Server: c.servers[0].Direct(), Encoding: enc, Client: &http.Client{Timeout: 10 * time.Minute}}
		clusters = append(clusters, c)
	}

	// Idle: only heartbeats and anti-entropy pulls cross the links. Both
	// clusters are measured over the same seconds.
	var beats []HeartbeatRow
	b0, t0 := []int64{clusters[0].peerBytes(), clusters[1].peerBytes()}, time.Now()
	select {
	case <-ctx.Done():
		return nil, nil, nil, ctx.Err()
	case <-time.After(cfg.IdleTime):
	}
	el := time.Since(t0).Seconds()
	for i, c := range clusters {
		hb := HeartbeatRow{Link: spec.Name, Encoding: string(c.enc), Seconds: el, BytesPerSec: float64(c.peerBytes()-b0[i]) / el}
		beats = append(beats, hb)
		logf("replication %-8s %-8s idle: %.0f B/s between servers", spec.Name, c.enc, hb.BytesPerSec)
	}

	stamp := uint64(2 << 40)
	var rows []ReplRow
	for _, size := range sizes {
		base := contents[KindRandom][size]
		for rep := -cfg.Warmup; rep < cfg.Reps; rep++ {
			for i := range clusters {
				c := clusters[(i+rep+cfg.Warmup)%len(clusters)] // alternate which goes first
				stamp++
				row, err := replicateOne(ctx, cfg, spec, c, size, Stamp(KindRandom, base, stamp), fmt.Sprintf("repl/%d/%d", size, rep+cfg.Warmup), checks)
				if err != nil {
					return nil, nil, nil, fmt.Errorf("replication %s %s %d B: %w", spec.Name, c.enc, size, err)
				}
				if rep >= 0 {
					row.Rep = rep
					rows = append(rows, row)
				}
			}
		}
		for _, c := range clusters {
			var lags []float64
			for _, r := range rows {
				if r.Size == size && r.Encoding == string(c.enc) {
					lags = append(lags, r.LagNs)
				}
			}
			s := Summarize(lags)
			checks.Soft(s.CV <= 0.3 && s.Outliers == 0, "repl-noise/"+string(c.enc), "%s %d B: replication lag cv %.1f%%, %d outliers (want cv <= 30%%, none)", spec.Name, size, 100*s.CV, s.Outliers)
			logf("replication %-8s %-8s %9d B: lag %s (cv %.1f%%)", spec.Name, c.enc, size, fmtNs(s.Median), 100*s.CV)
		}
	}

	// Burst: small objects back to back, where the log entries and pushes
	// (the messages --encoding chooses) are a larger share of the work.
	var bursts []BurstRow
	for rep := -cfg.Warmup; rep < cfg.Reps; rep++ {
		for i := range clusters {
			c := clusters[(i+rep+cfg.Warmup)%len(clusters)]
			row, err := burst(ctx, cfg, spec, c, contents[KindRandom][cfg.BurstSize], rep+cfg.Warmup, &stamp, checks)
			if err != nil {
				return nil, nil, nil, fmt.Errorf("replication burst %s %s: %w", spec.Name, c.enc, err)
			}
			if rep >= 0 {
				row.Rep = rep
				bursts = append(bursts, row)
			}
		}
	}
	for _, c := range clusters {
		var ops []float64
		for _, b := range bursts {
			if b.Encoding == string(c.enc) {
				ops = append(ops, b.ObjectsPS)
			}
		}
		s := Summarize(ops)
		logf("replication %-8s %-8s burst %d x %d B: %.0f objects/s (cv %.1f%%)", spec.Name, c.enc, cfg.BurstObjects, cfg.BurstSize, s.Median, 100*s.CV)
	}
	return rows, bursts, beats, nil
}

// replicateOne uploads content to the cluster's first server and waits
// until both others serve it.
func replicateOne(ctx context.Context, cfg Config, spec LinkSpec, c *cluster, size int, content []byte, key string, checks *Checks) (ReplRow, error) {
	poll := &http.Client{Timeout: 10 * time.Second}
	verify := &http.Client{Timeout: 5 * time.Minute}
	pb0 := c.peerBytes()
	_, sum, err := uploadOne(ctx, c.up, KindRandom, content, key)
	if err != nil {
		return ReplRow{}, err
	}
	ack := time.Now()
	lag2, lag3, err := waitReplicated(ctx, poll, c.servers[1:], key, sum, ack, cfg.ReplTimeout)
	if err != nil {
		return ReplRow{}, err
	}
	pb := c.peerBytes() - pb0
	for _, s := range c.servers[1:] {
		got, err := getDigest(ctx, verify, s.Direct(), key)
		if err != nil {
			return ReplRow{}, err
		}
		if !checks.Hard(got == sum, "replica-digest", "%s %s %d B: %s serves the uploaded bytes", spec.Name, c.enc, size, s.ID) {
			return ReplRow{}, fmt.Errorf("%s on %s: digest %s, source %s", key, s.ID, got, sum)
		}
	}
	// Both peers fetch the blob from s1 as raw bytes, whatever the
	// encoding: at least two copies of the content cross the links.
	checks.Hard(pb >= int64(2*size), "peer-bytes", "%s %s %d B: %d B between servers (want >= 2 x content)", spec.Name, c.enc, size, pb)
	lag := max(lag2, lag3)
	return ReplRow{Link: spec.Name, Encoding: string(c.enc), Size: size,
		LagNs: float64(lag), Lag2Ns: float64(lag2), Lag3Ns: float64(lag3), PeerBytes: float64(pb), Load: LoadAvg()}, nil
}

// burst uploads cfg.BurstObjects small objects back to back and waits
// until both peers serve the last one, then checks that all arrived.
func burst(ctx context.Context, cfg Config, spec LinkSpec, c *cluster, base []byte, n int, stamp *uint64, checks *Checks) (BurstRow, error) {
	poll := &http.Client{Timeout: 10 * time.Second}
	pb0 := c.peerBytes()
	var cpu0 []time.Duration
	var peaks []*PeakSampler
	defer func() {
		for _, p := range peaks {
			p.Stop()
		}
	}()
	for _, s := range c.servers {
		t, err := SchedTime(s.Pid())
		if err != nil {
			return BurstRow{}, err
		}
		cpu0 = append(cpu0, t)
		peaks = append(peaks, StartPeakSampler(s.Pid(), 5*time.Millisecond))
	}
	start := time.Now()
	var last, lastSum string
	var err error
	for i := range cfg.BurstObjects {
		*stamp++
		last = fmt.Sprintf("burst/%d/%d", n, i)
		if _, lastSum, err = uploadOne(ctx, c.up, KindRandom, Stamp(KindRandom, base, *stamp), last); err != nil {
			return BurstRow{}, err
		}
	}
	ack := time.Now()
	l2, l3, err := waitReplicated(ctx, poll, c.servers[1:], last, lastSum, ack, cfg.ReplTimeout)
	if err != nil {
		return BurstRow{}, err
	}
	done := ack.Add(max(l2, l3))
	var cpu float64
	var peak int64
	for i, s := range c.servers {
		t, err := SchedTime(s.Pid())
		if err != nil {
			return BurstRow{}, err
		}
		cpu += float64((t - cpu0[i]).Nanoseconds())
		peak = max(peak, peaks[i].Stop())
	}
	peaks = nil
	pb := c.peerBytes() - pb0
	// Every object of the burst must be on both peers, not just the last.
	missing := 0
	for i := range cfg.BurstObjects {
		for _, s := range c.servers[1:] {
			if etag, _ := headETag(ctx, poll, s.Direct(), fmt.Sprintf("burst/%d/%d", n, i)); etag == "" {
				missing++
			}
		}
	}
	checks.Hard(missing == 0, "burst-complete", "%s %s: %d of %d burst objects missing on the peers once the last arrived", spec.Name, c.enc, missing, 2*cfg.BurstObjects)
	k := float64(cfg.BurstObjects)
	total := done.Sub(start)
	return BurstRow{Link: spec.Name, Encoding: string(c.enc), Objects: cfg.BurstObjects, Size: cfg.BurstSize,
		TotalNs: float64(total), TailNs: float64(max(l2, l3)), PeerBytes: float64(pb) / k, ObjectsPS: k / total.Seconds(),
		ServerCPU: cpu / k, PeakRSSMax: peak, Load: LoadAvg()}, nil
}

// waitReplicated polls HEAD on each server until it serves key with the
// given digest and returns how long after ack each one first did.
func waitReplicated(ctx context.Context, hc *http.Client, servers []*Server, key, sum string, ack time.Time, timeout time.Duration) (time.Duration, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	lags := make([]time.Duration, len(servers))
	left := len(servers)
	for {
		for i, s := range servers {
			if lags[i] != 0 {
				continue
			}
			etag, err := headETag(ctx, hc, s.Direct(), key)
			if err != nil && ctx.Err() != nil {
				return 0, 0, fmt.Errorf("%s not on %s within %v: %w", key, s.ID, timeout, ctx.Err())
			}
			if etag == sum {
				lags[i] = max(time.Since(ack), 1)
				left--
			}
		}
		if left == 0 {
			return lags[0], lags[len(lags)-1], nil
		}
		// Poll fast at first, where small objects arrive, then gentler so
		// that the polling does not load the servers it measures.
		wait := 2 * time.Millisecond
		if time.Since(ack) > 200*time.Millisecond {
			wait = 10 * time.Millisecond
		}
		select {
		case <-ctx.Done():
			return 0, 0, fmt.Errorf("%s not replicated within %v: %w", key, timeout, ctx.Err())
		case <-time.After(wait): // polling interval
		}
	}
}

// headETag returns the unquoted ETag of key on a server, "" if it has no
// such object yet.
func headETag(ctx context.Context, hc *http.Client, base, key string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, base+"/v1/objects/"+key, nil)
	if err != nil {
		return "", err
	}
	res, err := hc.Do(req)
	if err != nil {
		return "", err
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return "", nil
	}
	return strings.Trim(res.Header.Get("Etag"), `"`), nil
}
