// Command server runs one metacdn node.
//
//	server --id s1 --listen 127.0.0.1:8081 --data ./data/s1 --provider aws --peers http://127.0.0.1:8082
//
// Flags may also come from --config FILE (JSON); flags on the command line
// win over the file.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"metacdn/node"
	"metacdn/wire"
)

// Version is set at build time with -ldflags "-X main.Version=...".
var Version = "dev"

func main() {
	freeMemoryLazily()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// A second signal stops waiting for a graceful shutdown.
	go func() {
		<-ctx.Done()
		stop()
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
		<-sig
		fmt.Fprintln(os.Stderr, "server: second signal, exiting now")
		os.Exit(1)
	}()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		// -h printed the usage the user asked for: not a failure.
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "server:", err)
		os.Exit(2)
	}
}

// fileConfig is the JSON of --config: any flag by its name, plus peers.
type fileConfig map[string]json.RawMessage

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg := node.DefaultConfig()
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		peers, widths, encoding, configFile string
		logLevel, logFormat                 = "info", "text"
		showVersion                         bool
	)
	encoding = string(cfg.Encoding)
	fs.StringVar(&cfg.ID, "id", "", "unique `NAME` of this server (required)")
	fs.StringVar(&cfg.Listen, "listen", cfg.Listen, "`HOST:PORT` to listen on (port 0 picks one)")
	fs.StringVar(&cfg.Advertise, "advertise", "", "base `URL` peers and proxies use to reach this server (default http://LISTEN, https:// with --tls)")
	fs.StringVar(&cfg.DataDir, "data", "", "`DIR` holding the server's bbolt database (required)")
	fs.StringVar(&peers, "peers", "", "initial peers: comma-separated base `URL`s")
	fs.StringVar(&configFile, "config", "", "JSON `FILE` with the initial peer list and any flag, e.g. {\"id\":\"s1\",\"peers\":[\"http://127.0.0.1:8082\"]}")
	fs.StringVar(&cfg.Provider, "provider", "", "cloud provider `NAME` (aws, azure, gcp, ...): joins the server to its price row")
	fs.StringVar(&encoding, "encoding", encoding, "what this server sends to peers: json or protobuf")
	fs.StringVar(&cfg.AdminToken, "admin-token", os.Getenv("CDN_ADMIN_TOKEN"), "bearer `TOKEN` for admin calls (default $CDN_ADMIN_TOKEN; empty disables them)")
	fs.BoolVar(&cfg.TLS, "tls", false, "serve HTTPS and sync with peers over mutual TLS")
	fs.StringVar(&cfg.TLSCert, "tls-cert", "", "server certificate `FILE` (PEM)")
	fs.StringVar(&cfg.TLSKey, "tls-key", "", "server key `FILE` (PEM)")
	fs.StringVar(&cfg.TLSCA, "tls-ca", "", "cluster CA `FILE` (PEM): peers must present a certificate it signed")
	fs.DurationVar(&cfg.HeartbeatInterval, "heartbeat", cfg.HeartbeatInterval, "how often servers exchange heartbeats")
	fs.Int64Var(&cfg.MaxObjectSize, "max-object-size", 0, "largest object in `BYTES` (0: no bound)")
	fs.Int64Var(&cfg.MaxMessageBytes, "max-message-bytes", cfg.MaxMessageBytes, "largest upload message in `BYTES`")
	fs.StringVar(&cfg.Images.Scale, "scale", cfg.Images.Scale, "how smaller images are made: precompute, dynamic or both")
	fs.StringVar(&widths, "widths", joinInts(cfg.Images.Widths), "image widths precomputed at upload, comma-separated")
	fs.Int64Var(&cfg.Images.MaxPixels, "max-pixels", cfg.Images.MaxPixels, "refuse (422) to resize images of more `PIXELS` (width*height, read from the header before decoding)")
	fs.IntVar(&cfg.Images.MaxResizes, "max-resizes", cfg.Images.MaxResizes, "image resizes running at once; more get 503 with Retry-After (0: one per CPU)")
	fs.Int64Var(&cfg.Images.DecodeMemory, "decode-memory", cfg.Images.DecodeMemory, "memory in `BYTES` the image resizes running at once may take, by each image's estimate from its header; 503 when short, 422 for an image over all of it (0: 1 GiB)")
	fs.IntVar(&cfg.Images.MaxDynamicVariants, "max-dynamic-variants", cfg.Images.MaxDynamicVariants, "image variants made on request to keep; the oldest go first")
	fs.DurationVar(&cfg.Images.AutoTarget, "auto-target", cfg.Images.AutoTarget, "?w=auto picks the widest image that reaches the client within this `DURATION` at its link rate")
	fs.StringVar(&logLevel, "log-level", logLevel, "debug, info, warn or error")
	fs.StringVar(&logFormat, "log-format", logFormat, "text or json")
	fs.BoolVar(&showVersion, "version", false, "print the version and exit")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: server --id NAME --data DIR [flags]\n\nRuns one metacdn node.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if showVersion {
		fmt.Fprintln(stdout, Version)
		return nil
	}
	if configFile != "" {
		if err := applyConfigFile(fs, configFile, &peers); err != nil {
			return err
		}
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q\nTry: server -h", fs.Arg(0))
	}
	var err error
	if cfg.Encoding, err = wire.ParseEncoding(encoding); err != nil {
		return fmt.Errorf("--encoding: %w", err)
	}
	if cfg.Peers, err = splitList(peers); err != nil {
		return err
	}
	if cfg.Images.Widths, err = parseInts(widths); err != nil {
		return fmt.Errorf("--widths: %w", err)
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("%w\nTry: server --id s1 --data ./data/s1 --listen 127.0.0.1:8081", err)
	}
	log, err := node.NewLogger(stderr, logLevel, logFormat)
	if err != nil {
		return err
	}
	log.Info("starting", "version", Version, "lazy_free", lazyFree())
	return node.Run(ctx, cfg, log)
}

// applyConfigFile sets every flag the file names that the command line
// did not set.
func applyConfigFile(fs *flag.FlagSet, name string, peers *string) error {
	b, err := os.ReadFile(name)
	if err != nil {
		return fmt.Errorf("--config: %w", err)
	}
	var fc fileConfig
	if err := json.Unmarshal(b, &fc); err != nil {
		return fmt.Errorf("--config %s: %w", name, err)
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for name, raw := range fc {
		if set[name] {
			continue
		}
		if name == "peers" {
			var list []string
			if err := json.Unmarshal(raw, &list); err != nil {
				return fmt.Errorf("--config: peers: want a list of URLs: %w", err)
			}
			*peers = strings.Join(list, ",")
			continue
		}
		if fs.Lookup(name) == nil || name == "config" {
			return fmt.Errorf("--config: unknown setting %q", name)
		}
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			return fmt.Errorf("--config: %s: %w", name, err)
		}
		s := fmt.Sprint(v)
		if f, ok := v.(float64); ok {
			s = strconv.FormatFloat(f, 'f', -1, 64)
		}
		if err := fs.Set(name, s); err != nil {
			return fmt.Errorf("--config: %s: %w", name, err)
		}
	}
	return nil
}

func splitList(s string) ([]string, error) {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, strings.TrimRight(p, "/"))
		}
	}
	return out, nil
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		v, err := strconv.Atoi(p)
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("%q is not a positive width", p)
		}
		out = append(out, v)
	}
	return out, nil
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, ",")
}
