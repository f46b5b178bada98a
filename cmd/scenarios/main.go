// Command scenarios plays the routing scenarios (fixtures/scenarios) on
// loopback and prints, per scenario and object, each server's latency,
// bandwidth and prices, the server each policy should pick and the one
// the proxy picked. It starts three servers in process, each behind a
// toxiproxy link, a price service and a proxy, and removes everything at
// exit. It exits 1 if any pick was wrong.
//
//	go run ./cmd/scenarios
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		// -h printed the usage the user asked for: not a failure.
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "scenarios:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg := DefaultConfig()
	fs := flag.NewFlagSet("scenarios", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.Dir, "dir", cfg.Dir, "play the scenario files (*.json) in `DIR`")
	fs.DurationVar(&cfg.Settle, "settle", cfg.Settle, "how long a check may take to reach the expected server")
	fs.StringVar(&cfg.LogLevel, "log-level", cfg.LogLevel, "servers' and priceinfo's log level on stderr: debug, info, warn or error")
	fs.BoolVar(&cfg.Verbose, "v", false, "print each check's detail, also when it passed")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: scenarios [flags]\n\nPlays the routing scenarios against a local cluster behind toxiproxy and prints a table.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q\nTry: scenarios --dir fixtures/scenarios", fs.Arg(0))
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	return Run(ctx, cfg, stdout, stderr)
}

// Config is what the scenarios program plays and how.
type Config struct {
	Dir      string
	Settle   time.Duration
	LogLevel string
	Verbose  bool
}

// DefaultConfig plays the repository's scenarios from its root.
func DefaultConfig() Config {
	return Config{Dir: "fixtures/scenarios", Settle: 20 * time.Second, LogLevel: "error"}
}

// Validate names the first bad field.
func (c Config) Validate() error {
	if c.Dir == "" {
		return errors.New("--dir: required: the directory of the scenario files")
	}
	if c.Settle <= 0 {
		return errors.New("--settle: must be positive, e.g. 20s")
	}
	return nil
}
