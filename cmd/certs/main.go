// Command certs makes a self-signed cluster CA and server certificates for
// metacdn servers that talk mutual TLS (server --tls).
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

	"metacdn/replication"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "certs:", err)
		os.Exit(2)
	}
}

const usage = `Usage: certs --out DIR NAME...

Writes a cluster CA to DIR/ca.pem and DIR/ca-key.pem (an existing pair is
kept, so servers added later join the same cluster), and for each NAME a
certificate DIR/NAME.pem and key DIR/NAME-key.pem signed by it, valid for
NAME, localhost and 127.0.0.1. Keys are ECDSA P-256.

Then start each server with:
  server --tls --tls-cert DIR/NAME.pem --tls-key DIR/NAME-key.pem --tls-ca DIR/ca.pem ...

Flags:
`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("certs", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "", "directory to write the certificates to (required)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" || fs.NArg() == 0 {
		fs.Usage()
		return errors.New("need --out DIR and at least one NAME. Try: certs --out certs s1 s2 s3")
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	ca, files, err := replication.MakeCerts(*out, fs.Args())
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "CA: %s\n", ca)
	for _, f := range files {
		fmt.Fprintf(stdout, "%s: %s %s\n", f.Name, f.Cert, f.Key)
	}
	return nil
}
