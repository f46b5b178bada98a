// Command proxy is metacdn's client-side routing HTTP proxy: it learns the
// CDN servers from any one of them, measures them, reads the providers'
// prices, and sends each request to the server its policy picks.
//
//	proxy --server http://127.0.0.1:8081 --priceinfo http://127.0.0.1:8090 --policy combined
//	curl http://127.0.0.1:8080/v1/objects/cat.jpg              # reverse mode
//	curl -x http://127.0.0.1:8080 http://cdn/v1/objects/cat.jpg  # forward mode
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"

	"metacdn/router"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	go func() {
		// A second signal stops waiting for a graceful shutdown.
		<-ctx.Done()
		stop()
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
		<-sig
		os.Exit(1)
	}()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	switch {
	case errors.Is(err, flag.ErrHelp):
		os.Exit(0)
	case err != nil:
		fmt.Fprintln(os.Stderr, "proxy:", err)
		os.Exit(2)
	}
}

// run parses args and runs the proxy until ctx ends.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, lc, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	logger, err := newLogger(stderr, lc.level, lc.format)
	if err != nil {
		return err
	}
	_ = stdout
	if lc.cpuprofile != "" {
		f, err := os.Create(lc.cpuprofile)
		if err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	return router.Run(ctx, cfg, logger)
}

type logConfig struct{ level, format, cpuprofile string }

func parseFlags(args []string, stderr io.Writer) (router.Config, logConfig, error) {
	cfg := router.DefaultConfig()
	lc := logConfig{level: "info", format: "text"}
	fs := flag.NewFlagSet("proxy", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var servers, static, policy string
	fs.StringVar(&cfg.Listen, "listen", cfg.Listen, "`HOST:PORT` to serve on (port 0 picks a free one; the bound address is logged)")
	fs.StringVar(&servers, "server", "", "`URL[,URL...]` of any CDN server: the proxy learns the others from its /v1/peers")
	fs.StringVar(&static, "servers", "", "static servers `id=url[,id@provider=url...]`, for when none can be asked for peers")
	fs.StringVar(&cfg.PriceInfo, "priceinfo", "", "price service base `URL` (without it every price is unknown)")
	fs.StringVar(&policy, "policy", string(cfg.Policy), "routing `policy`: network, price or combined")
	fs.Float64Var(&cfg.Weight, "weight", cfg.Weight, "network share of the combined score, 0..1 (price gets the rest)")
	fs.DurationVar(&cfg.ProbeInterval, "probe-interval", cfg.ProbeInterval, "how often each server's /healthz is probed")
	fs.DurationVar(&cfg.ProbeTimeout, "probe-timeout", cfg.ProbeTimeout, "a probe slower than this counts as a failure")
	fs.DurationVar(&cfg.DiscoveryInterval, "discovery-interval", cfg.DiscoveryInterval, "how often the peer list is refreshed")
	fs.DurationVar(&cfg.PriceInterval, "price-interval", cfg.PriceInterval, "how often prices are polled")
	fs.DurationVar(&cfg.HeaderTimeout, "header-timeout", cfg.HeaderTimeout, "a server slower than this to answer counts as failed")
	fs.DurationVar(&cfg.EjectBase, "eject-base", cfg.EjectBase, "first ejection of a failed server (doubles per further failure)")
	fs.DurationVar(&cfg.EjectMax, "eject-max", cfg.EjectMax, "longest ejection")
	fs.IntVar(&cfg.MaxNotFound, "max-not-found", cfg.MaxNotFound, "servers asked before a 404 reaches the client")
	fs.StringVar(&cfg.TLSCert, "tls-cert", "", "client certificate `FILE` for servers that run --tls")
	fs.StringVar(&cfg.TLSKey, "tls-key", "", "client key `FILE`")
	fs.StringVar(&cfg.TLSCA, "tls-ca", "", "cluster CA `FILE` that signed the servers' certificates")
	fs.StringVar(&lc.level, "log-level", lc.level, "debug, info, warn or error")
	fs.StringVar(&lc.format, "log-format", lc.format, "text or json")
	fs.StringVar(&lc.cpuprofile, "cpuprofile", "", "write a CPU profile to `FILE` until the proxy stops (for performance work)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: proxy --server URL [--priceinfo URL] [--policy network|price|combined] [flags]\n\n"+
			"Routes http://LISTEN/v1/... (reverse mode) and absolute-form proxy requests\n"+
			"(curl -x http://LISTEN http://any-host/v1/...; the host is ignored) to the CDN server\n"+
			"the policy picks. GET /_proxy/status shows servers, scores and recent decisions.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return cfg, lc, err
	}
	if fs.NArg() > 0 {
		return cfg, lc, fmt.Errorf("unexpected argument %q\nTry: proxy --server http://127.0.0.1:8081", fs.Arg(0))
	}
	for _, s := range strings.Split(servers, ",") {
		if s = strings.TrimSpace(s); s != "" {
			cfg.Seeds = append(cfg.Seeds, s)
		}
	}
	if static != "" {
		st, err := router.ParseStatic(static)
		if err != nil {
			return cfg, lc, err
		}
		cfg.Static = st
	}
	p, err := router.ParsePolicy(policy)
	if err != nil {
		return cfg, lc, err
	}
	cfg.Policy = p
	if err := cfg.Validate(); err != nil {
		return cfg, lc, fmt.Errorf("%w\nTry: proxy --server http://127.0.0.1:8081 --policy network", err)
	}
	return cfg, lc, nil
}

// newLogger builds the process logger from --log-level and --log-format.
func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", format)
}
