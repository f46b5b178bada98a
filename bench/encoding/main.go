package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ErrChecksFailed is returned when a hard sanity check failed: the
// numbers of that run cannot be trusted.
var ErrChecksFailed = errors.New("sanity checks failed")

// Phases of a run, in order.
var Phases = []string{"micro", "loopback", "slow", "repl", "slowrepl"}

// Config is one run of the experiment.
type Config struct {
	Out       string // results directory
	Quick     bool
	Phases    map[string]bool
	Sizes     []int // micro and loopback uploads
	SlowSizes []int // uploads over the slow link (random content only)
	ReplSizes []int
	SlowRepl  []int
	Reps      int
	Warmup    int
	SlowBig   int // repetitions over the slow link for sizes over 4 MiB
	MicroTime time.Duration
	RateMbit  float64
	IdleTime  time.Duration
	// BurstObjects objects of BurstSize bytes make one replication burst.
	BurstObjects int
	BurstSize    int
	ReplTimeout  time.Duration
	CacheDir     string // generated content between runs; empty: none
	Plots        bool

	WorkDir   string // temporary: servers' data, the built program
	ServerBin string
}

// DefaultConfig is the full run.
func DefaultConfig() Config {
	cache, _ := os.UserCacheDir()
	if cache != "" {
		cache = filepath.Join(cache, "metacdn", "bench-encoding")
	}
	return Config{
		Out:          filepath.Join("docs", "experiments", "encoding"),
		Phases:       map[string]bool{"micro": true, "loopback": true, "slow": true, "repl": true, "slowrepl": true},
		Sizes:        []int{1 << 10, 16 << 10, 256 << 10, 4 << 20, 64 << 20},
		SlowSizes:    []int{1 << 10, 16 << 10, 256 << 10, 4 << 20, 64 << 20},
		ReplSizes:    []int{1 << 10, 16 << 10, 256 << 10, 4 << 20, 64 << 20},
		SlowRepl:     []int{1 << 10, 256 << 10, 4 << 20},
		Reps:         5,
		Warmup:       1,
		SlowBig:      3,
		MicroTime:    100 * time.Millisecond,
		RateMbit:     20,
		IdleTime:     10 * time.Second,
		BurstObjects: 200,
		BurstSize:    1 << 10,
		ReplTimeout:  3 * time.Minute,
		CacheDir:     cache,
		Plots:        true,
	}
}

// QuickConfig is a small run that still exercises every part and check.
func QuickConfig() Config {
	c := DefaultConfig()
	c.Quick = true
	c.Sizes = []int{1 << 10, 16 << 10}
	c.SlowSizes = []int{1 << 10, 16 << 10}
	c.ReplSizes = []int{1 << 10, 16 << 10}
	c.SlowRepl = []int{16 << 10}
	c.Reps, c.Warmup = 2, 1
	c.MicroTime = 2 * time.Millisecond
	c.IdleTime = time.Second
	c.BurstObjects = 10
	c.ReplTimeout = time.Minute
	c.CacheDir = ""
	return c
}

// Validate names the first setting that cannot work.
func (c *Config) Validate() error {
	switch {
	case c.Reps < 2:
		return errors.New("-reps: at least 2, so that there is a spread")
	case c.Warmup < 0:
		return errors.New("-warmup: must not be negative")
	case c.RateMbit <= 0:
		return errors.New("-rate: the slow link needs a positive rate in Mbit/s")
	case len(c.Sizes) == 0:
		return errors.New("-sizes: give at least one size")
	}
	for _, s := range append(append(append(c.Sizes, c.SlowSizes...), c.ReplSizes...), c.SlowRepl...) {
		if s < 1024 {
			return fmt.Errorf("-sizes: %d B is below 1 KiB, the smallest generated JPEG", s)
		}
	}
	return nil
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "encoding:", err)
		}
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("encoding", flag.ContinueOnError)
	fs.SetOutput(stderr)
	quick := fs.Bool("quick", false, "a small run (tiny sizes, 2 repetitions): seconds instead of minutes")
	out := fs.String("out", "", "results `DIR` (default docs/experiments/encoding)")
	phases := fs.String("phases", strings.Join(Phases, ","), "parts to run, comma-separated: "+strings.Join(Phases, ","))
	sizes := fs.String("sizes", "", "content sizes for micro and loopback uploads, e.g. 1K,16K,256K,4M,64M")
	reps := fs.Int("reps", 0, "measured repetitions per configuration (default 5; 2 with -quick)")
	rate := fs.Float64("rate", 0, "slow link rate in `Mbit/s` (default 20)")
	replot := fs.Bool("replot", false, "measure nothing: redraw the plots and summary.md from the CSV files in -out")
	cache := fs.String("cache", "-", "`DIR` keeping generated content between runs (\"\" for none)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: go run ./bench/encoding [flags]\n\nRuns the JSON-or-Protobuf experiment and writes CSV, plots and summary.md.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg := DefaultConfig()
	if *quick {
		cfg = QuickConfig()
	}
	if *out != "" {
		cfg.Out = *out
	}
	if *reps > 0 {
		cfg.Reps = *reps
	}
	if *rate > 0 {
		cfg.RateMbit = *rate
	}
	if *cache != "-" {
		cfg.CacheDir = *cache
	}
	if *sizes != "" {
		s, err := parseSizes(*sizes)
		if err != nil {
			return fmt.Errorf("-sizes: %w", err)
		}
		cfg.Sizes = s
	}
	cfg.Phases = map[string]bool{}
	for _, p := range strings.Split(*phases, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		ok := false
		for _, known := range Phases {
			ok = ok || p == known
		}
		if !ok {
			return fmt.Errorf("-phases: unknown part %q (know %s)", p, strings.Join(Phases, ","))
		}
		cfg.Phases[p] = true
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	if *replot {
		return Replot(cfg)
	}
	res, checks, err := Run(ctx, cfg, func(format string, a ...any) { fmt.Fprintf(stdout, format+"\n", a...) })
	if checks != nil {
		fmt.Fprint(stdout, checks.Report())
	}
	if err != nil {
		return err
	}
	_ = res
	return nil
}

// Run performs the experiment cfg describes and writes its results into
// cfg.Out. The error is ErrChecksFailed when a hard check failed, after
// the results were written.
func Run(ctx context.Context, cfg Config, logf func(string, ...any)) (*Results, *Checks, error) {
	start := time.Now()
	checks := &Checks{}
	if err := os.MkdirAll(cfg.Out, 0o755); err != nil {
		return nil, nil, err
	}
	work, err := os.MkdirTemp("", "metacdn-encoding-")
	if err != nil {
		return nil, nil, err
	}
	defer os.RemoveAll(work)
	cfg.WorkDir = work
	load0 := LoadAvg()
	logf("encoding experiment: %d CPUs, %s, load %.2f, output %s", runtime.NumCPU(), runtime.Version(), load0, cfg.Out)
	if load0 > float64(runtime.NumCPU())/2 {
		logf("note: the machine is busy (load %.2f); timings will be noisy", load0)
	}
	if cfg.Phases["loopback"] || cfg.Phases["slow"] || cfg.Phases["repl"] || cfg.Phases["slowrepl"] {
		if cfg.ServerBin, err = BuildServer(ctx, work); err != nil {
			return nil, nil, err
		}
	}
	contents, err := makeContents(cfg, logf)
	if err != nil {
		return nil, nil, err
	}
	slow := LinkSpec{Name: "slow", RateKBps: int64(cfg.RateMbit * 1000 / 8)}
	loop := LinkSpec{Name: "loopback"}

	res := &Results{}
	if cfg.Phases["micro"] {
		if res.Micro, err = RunMicro(cfg, contents, checks, logf); err != nil {
			return nil, checks, err
		}
	}
	if cfg.Phases["loopback"] {
		r, err := RunUploads(ctx, cfg, loop, Kinds, cfg.Sizes, contents, checks, logf)
		if err != nil {
			return nil, checks, err
		}
		res.Uploads = append(res.Uploads, r...)
	}
	if cfg.Phases["slow"] {
		// Content kinds do not matter to either codec (the loopback and
		// micro results show it), so the slow link, where every byte costs
		// time, uses random content only.
		r, err := RunUploads(ctx, cfg, slow, []string{KindRandom}, cfg.SlowSizes, contents, checks, logf)
		if err != nil {
			return nil, checks, err
		}
		res.Uploads = append(res.Uploads, r...)
	}
	for _, p := range []struct {
		phase string
		spec  LinkSpec
		sizes []int
	}{{"repl", loop, cfg.ReplSizes}, {"slowrepl", slow, cfg.SlowRepl}} {
		if !cfg.Phases[p.phase] {
			continue
		}
		r, b, h, err := RunReplication(ctx, cfg, p.spec, p.sizes, contents, checks, logf)
		if err != nil {
			return nil, checks, err
		}
		res.Repl, res.Bursts, res.Beats = append(res.Repl, r...), append(res.Bursts, b...), append(res.Beats, h...)
	}
	checkKinds(checks, res)

	meta := fmt.Sprintf("Run %s at %s on %s: %d CPUs (%s), %s; load average %.2f at the start, %.2f at the end; %s; slow link %.0f Mbit/s (toxiproxy bandwidth toxic); took %s.",
		start.UTC().Format("2006-01-02 15:04 MST"), sourceVersion(ctx), hostname(), runtime.NumCPU(), cpuModel(), runtime.Version(),
		load0, LoadAvg(), modeName(cfg), cfg.RateMbit, time.Since(start).Round(time.Second))
	if err := writeResults(cfg, res, checks, meta); err != nil {
		return res, checks, err
	}
	logf("%s", meta)
	if f := checks.Failed(); len(f) > 0 {
		return res, checks, fmt.Errorf("%w: %d (first: %s: %s)", ErrChecksFailed, len(f), f[0].Name, f[0].Detail)
	}
	return res, checks, nil
}

// Replot redraws the plots and the summary from the CSV files of an
// earlier run in cfg.Out, keeping that run's description and checks.
func Replot(cfg Config) error {
	res := &Results{}
	for _, f := range []struct {
		name string
		rows any
	}{
		{"micro.csv", &res.Micro}, {"uploads.csv", &res.Uploads}, {"replication.csv", &res.Repl},
		{"replication_burst.csv", &res.Bursts}, {"heartbeat.csv", &res.Beats},
	} {
		if err := ReadCSV(filepath.Join(cfg.Out, f.name), f.rows); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	old, err := os.ReadFile(filepath.Join(cfg.Out, "summary.md"))
	if err != nil {
		return fmt.Errorf("replot: %w", err)
	}
	// The run's description is the sentence after "do not edit.".
	meta := ""
	if _, after, ok := strings.Cut(string(old), "do not edit. "); ok {
		meta, _, _ = strings.Cut(after, "\n")
	}
	report, err := os.ReadFile(filepath.Join(cfg.Out, "checks.txt"))
	if err != nil {
		return fmt.Errorf("replot: %w", err)
	}
	if err := WritePlots(cfg.Out, res); err != nil {
		return err
	}
	return writeSummary(filepath.Join(cfg.Out, "summary.md"), cfg, res, string(report), meta)
}

func modeName(cfg Config) string {
	if cfg.Quick {
		return "quick run"
	}
	return "full run"
}

func writeResults(cfg Config, res *Results, checks *Checks, meta string) error {
	files := []struct {
		name string
		rows any
		n    int
	}{
		{"micro.csv", res.Micro, len(res.Micro)},
		{"uploads.csv", res.Uploads, len(res.Uploads)},
		{"replication.csv", res.Repl, len(res.Repl)},
		{"replication_burst.csv", res.Bursts, len(res.Bursts)},
		{"heartbeat.csv", res.Beats, len(res.Beats)},
	}
	for _, f := range files {
		if f.n == 0 {
			continue
		}
		if err := WriteCSV(filepath.Join(cfg.Out, f.name), f.rows); err != nil {
			return err
		}
	}
	if cfg.Plots {
		if err := WritePlots(cfg.Out, res); err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(cfg.Out, "checks.txt"), []byte(checks.Report()), 0o644); err != nil {
		return err
	}
	return writeSummary(filepath.Join(cfg.Out, "summary.md"), cfg, res, checks.Report(), meta)
}

// makeContents generates the base content of every kind and size a run
// needs; repetitions stamp it (see Stamp).
func makeContents(cfg Config, logf func(string, ...any)) (map[string]map[int][]byte, error) {
	need := map[int]bool{cfg.BurstSize: true}
	for _, s := range append(append(append(cfg.Sizes, cfg.SlowSizes...), cfg.ReplSizes...), cfg.SlowRepl...) {
		need[s] = true
	}
	out := map[string]map[int][]byte{}
	t0 := time.Now()
	for _, kind := range Kinds {
		out[kind] = map[int][]byte{}
		for s := range need {
			b, err := Cached(cfg.CacheDir, kind, s, 1)
			if err != nil {
				return nil, err
			}
			out[kind][s] = b
		}
	}
	logf("content: %d sizes x %d kinds ready in %s", len(need), len(Kinds), time.Since(t0).Round(time.Millisecond))
	return out, nil
}

// checkKinds verifies that the content kind did not change the message
// sizes: neither codec looks at the bytes.
func checkKinds(checks *Checks, res *Results) {
	type key struct {
		enc  string
		size int
	}
	sizes := map[key]map[int]bool{}
	for _, r := range res.Micro {
		if r.Size == 0 {
			continue
		}
		k := key{r.Encoding, r.Size}
		if sizes[k] == nil {
			sizes[k] = map[int]bool{}
		}
		sizes[k][r.MsgBytes] = true
	}
	for k, v := range sizes {
		// The key names the kind ("bench/jpeg-1024.bin" vs "random"), so
		// sizes may differ by the key's length only.
		lo, hi := 1<<62, 0
		for s := range v {
			lo, hi = min(lo, s), max(hi, s)
		}
		checks.Hard(hi-lo <= 4, "kind-independent/"+k.enc, "%s: message sizes of the three kinds within %d B", sizeLabel(k.size), hi-lo)
	}
}

func parseSizes(s string) ([]int, error) {
	var out []int
	for _, p := range strings.Split(s, ",") {
		p = strings.ToUpper(strings.TrimSpace(p))
		if p == "" {
			continue
		}
		mult := 1
		switch {
		case strings.HasSuffix(p, "K"):
			mult, p = 1<<10, strings.TrimSuffix(p, "K")
		case strings.HasSuffix(p, "M"):
			mult, p = 1<<20, strings.TrimSuffix(p, "M")
		}
		v, err := strconv.Atoi(p)
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("%q is not a size like 16K or 4M", p)
		}
		out = append(out, v*mult)
	}
	return out, nil
}

// sourceVersion names the code the servers were built from: the commit,
// and "+changes" when the work tree differed from it.
func sourceVersion(ctx context.Context) string {
	out, err := exec.CommandContext(ctx, "git", "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return "an unknown commit"
	}
	v := "commit " + strings.TrimSpace(string(out))
	if st, err := exec.CommandContext(ctx, "git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(st) > 0 {
		v += "+changes"
	}
	return v
}

func hostname() string {
	h, _ := os.Hostname()
	if h == "" {
		return "this machine"
	}
	return h
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "model name"); ok {
			return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
		}
	}
	return "unknown CPU"
}
