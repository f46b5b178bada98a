// Command priceinfo runs metacdn's price service: what each cloud provider
// charges per GB out and per server hour, served at /v1/prices.
//
// Usage:
//
//	priceinfo --listen 127.0.0.1:8090 --data ./priceinfo-data --seed fixtures/prices.json
//
// The admin token for PUT and DELETE comes from --admin-token or, if that is
// empty, the CDN_ADMIN_TOKEN environment variable.
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

	"metacdn/pricedb"
)

// Version is set at build time with -ldflags "-X main.Version=...".
var Version = "dev"

// envAdminToken is read when --admin-token is not given.
const envAdminToken = "CDN_ADMIN_TOKEN"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	go func() {
		// After the first signal, restore the default action so that a
		// second one kills a shutdown that hangs.
		<-ctx.Done()
		stop()
	}()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	switch {
	case err == nil:
	case errors.Is(err, flag.ErrHelp):
	case errors.As(err, new(*usageError)):
		fmt.Fprintln(os.Stderr, "priceinfo:", err)
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "priceinfo:", err)
		os.Exit(1)
	}
}

// usageError is a bad command line; it carries a hint.
type usageError struct{ err error }

func (e *usageError) Error() string {
	return e.err.Error() + "\nTry: priceinfo --listen 127.0.0.1:8090 --data DIR [--seed FILE] (priceinfo -h for all flags)"
}

func (e *usageError) Unwrap() error { return e.err }

// run parses args, starts the price service and serves until ctx is done.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, logOpts, err := parseFlags(args, stdout, stderr)
	if err != nil {
		return err
	}
	logger, err := newLogger(stderr, logOpts.level, logOpts.format)
	if err != nil {
		return &usageError{err}
	}
	cfg.Logger = logger.With("component", "priceinfo")
	logger.Info("priceinfo starting", "version", Version)
	return pricedb.Run(ctx, cfg)
}

type logOptions struct {
	level, format string
}

func parseFlags(args []string, stdout, stderr io.Writer) (pricedb.Config, logOptions, error) {
	cfg := pricedb.DefaultConfig()
	var lo logOptions
	fs := flag.NewFlagSet("priceinfo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: priceinfo [flags]\n\n"+
			"Serves cloud prices (egress per GB, server per hour, ...) at /v1/prices.\n"+
			"PUT and DELETE need 'Authorization: Bearer TOKEN'.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	fs.StringVar(&cfg.Listen, "listen", cfg.Listen, "`HOST:PORT` to serve on (port 0 picks a free port; the bound address is logged)")
	fs.StringVar(&cfg.DataDir, "data", cfg.DataDir, "`DIR` holding the price database ("+pricedb.DBFile+")")
	fs.StringVar(&cfg.AdminToken, "admin-token", "", "bearer `TOKEN` for PUT/DELETE (default: $"+envAdminToken+"; none: admin calls refused)")
	fs.StringVar(&cfg.SeedFile, "seed", "", "JSON price `FILE` loaded when the database has never been written")
	fs.Int64Var(&cfg.MaxBodyBytes, "max-body-bytes", cfg.MaxBodyBytes, "largest PUT body in `bytes`")
	fs.DurationVar(&cfg.ShutdownTimeout, "shutdown-timeout", cfg.ShutdownTimeout, "how long to wait for requests in flight at shutdown")
	fs.StringVar(&lo.level, "log-level", "info", "log `level`: debug, info, warn or error")
	fs.StringVar(&lo.format, "log-format", "text", "log `format`: text or json")
	showVersion := fs.Bool("version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return cfg, lo, err
		}
		return cfg, lo, &usageError{err}
	}
	if *showVersion {
		fmt.Fprintln(stdout, "priceinfo", Version)
		return cfg, lo, flag.ErrHelp
	}
	if fs.NArg() > 0 {
		return cfg, lo, &usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	if cfg.AdminToken == "" {
		cfg.AdminToken = os.Getenv(envAdminToken)
	}
	if err := cfg.Validate(); err != nil {
		return cfg, lo, &usageError{err}
	}
	return cfg, lo, nil
}
