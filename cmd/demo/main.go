// Command demo runs a whole metacdn deployment on loopback with embedded
// defaults: three servers as three providers, each a full node, and sample
// content uploaded to them. It prints what to try and runs until Ctrl-C.
//
//	go run ./cmd/demo
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

	"metacdn/wire"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		// -h printed the usage the user asked for: not a failure.
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg := DefaultConfig()
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var encoding string
	fs.StringVar(&cfg.Host, "host", cfg.Host, "loopback `ADDRESS` every part listens on")
	fs.IntVar(&cfg.BasePort, "base-port", cfg.BasePort, "the proxy listens on `PORT`, priceinfo on PORT+10, servers on PORT+1..PORT+3")
	fs.StringVar(&cfg.DataDir, "data", "", "keep the deployment's databases in `DIR` (default: a temporary directory removed at exit)")
	fs.StringVar(&encoding, "encoding", "protobuf", "what servers send each other: json or protobuf")
	fs.BoolVar(&cfg.TLS, "tls", false, "servers sync over mutual TLS with certificates made at start")
	fs.StringVar(&cfg.Policy, "policy", cfg.Policy, "proxy routing policy: network, price or combined")
	fs.StringVar(&cfg.AdminToken, "admin-token", cfg.AdminToken, "admin `TOKEN` of servers and priceinfo")
	fs.StringVar(&cfg.LogLevel, "log-level", cfg.LogLevel, "debug, info, warn or error")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: demo [flags]\n\nRuns a local metacdn deployment on loopback until Ctrl-C.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	var err error
	if cfg.Encoding, err = wire.ParseEncoding(encoding); err != nil {
		return fmt.Errorf("--encoding: %w", err)
	}
	return Run(ctx, cfg, stdout, stderr)
}
