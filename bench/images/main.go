package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// ErrChecksFailed is returned when a hard sanity check failed: the numbers
// of that run cannot be trusted.
var ErrChecksFailed = errors.New("sanity checks failed")

// Config is one run of the study.
type Config struct {
	Out         string
	Quick       bool
	Reps        int // precompute and warm request repetitions
	ColdReps    int // cold resizes per input
	MixImages   int
	MixRequests int
}

// Results is everything one run measured.
type Results struct {
	Started    time.Time
	Precompute []PrecomputeResult
	Requests   []RequestResult
	Slow       []SlowResult
	Mixes      []MixResult
	Repl       []ReplResult
	Prices     prices
	Checks     []Check
}

func main() {
	cfg := Config{}
	flag.StringVar(&cfg.Out, "out", "docs/experiments/image-scaling", "results `DIR`")
	flag.BoolVar(&cfg.Quick, "quick", false, "small inputs and few repetitions: a smoke test in seconds")
	flag.Parse()
	cfg.Reps, cfg.ColdReps, cfg.MixImages, cfg.MixRequests = 15, 10, 12, 300
	if cfg.Quick {
		cfg.Reps, cfg.ColdReps, cfg.MixImages, cfg.MixRequests = 3, 3, 4, 40
	}
	if err := run(cfg); err != nil {
		fmt.Fprintln(os.Stderr, "images:", err)
		os.Exit(1)
	}
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, time.Now().Format("15:04:05 ")+format+"\n", args...)
}

func run(cfg Config) error {
	if err := os.MkdirAll(cfg.Out, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "metacdn-images-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	res := &Results{Started: time.Now()}
	logf("drawing inputs")
	inputs := makeInputs(cfg.Quick)

	if res.Precompute, err = measurePrecompute(inputs, cfg.Reps, tmp); err != nil {
		return fmt.Errorf("precompute: %w", err)
	}
	if res.Requests, err = measureRequests(inputs, cfg.Reps*2, cfg.ColdReps, tmp); err != nil {
		return fmt.Errorf("requests: %w", err)
	}
	measureRates, measureInput := []float64{1.6, 5}, "jpeg-2000x1500"
	if cfg.Quick {
		measureRates = []float64{5}
	}
	if res.Slow, err = measureSlow(inputs, measureRates, measureInput, tmp); err != nil {
		return fmt.Errorf("slow links: %w", err)
	}
	if res.Mixes, err = measureMixes(mixImages(cfg.MixImages), cfg.MixRequests, tmp); err != nil {
		return fmt.Errorf("mixes: %w", err)
	}
	if res.Repl, res.Prices, err = measureRepl(inputs, res.Precompute, tmp); err != nil {
		return fmt.Errorf("replication: %w", err)
	}
	res.Checks = checks(res)
	if err := writeOutputs(cfg, res); err != nil {
		return err
	}
	logf("results in %s", filepath.Clean(cfg.Out))
	for _, c := range res.Checks {
		if c.Hard && !c.OK {
			return ErrChecksFailed
		}
	}
	return nil
}
