package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"metacdn/fixtures"
	"metacdn/node"
	"metacdn/pricedb"
	"metacdn/replication"
	"metacdn/router"
	"metacdn/uploader"
	"metacdn/wire"
)

// Config describes the local deployment.
type Config struct {
	Host       string
	BasePort   int
	DataDir    string // empty: a temporary directory removed at exit
	Encoding   wire.Encoding
	TLS        bool
	Policy     string
	AdminToken string
	LogLevel   string
}

// DefaultConfig is the deployment the README's first command starts.
func DefaultConfig() Config {
	return Config{Host: "127.0.0.1", BasePort: 8080, Encoding: wire.Protobuf, Policy: "combined",
		AdminToken: "demo-admin-token", LogLevel: "warn"}
}

var providers = []string{"aws", "azure", "gcp"}

// Run starts the deployment, uploads samples, prints what to try and waits
// for ctx to end; then it stops everything in reverse order.
func Run(ctx context.Context, cfg Config, stdout, stderr io.Writer) error {
	log, err := node.NewLogger(stderr, cfg.LogLevel, "text")
	if err != nil {
		return err
	}
	dir := cfg.DataDir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "metacdn-demo-"); err != nil {
			return err
		}
		defer os.RemoveAll(dir)
	}
	var nodes []*node.Node
	defer func() {
		for i := len(nodes) - 1; i >= 0; i-- {
			nodes[i].Close()
		}
	}()
	scheme := "http"
	var certDir string
	if cfg.TLS {
		scheme, certDir = "https", filepath.Join(dir, "certs")
		ids := make([]string, len(providers))
		for i, p := range providers {
			ids[i] = serverID(p)
		}
		// The proxy presents a certificate of the cluster CA too, as any
		// client of the peer API would.
		if _, _, err := replication.MakeCerts(certDir, append(ids, "proxy")); err != nil {
			return fmt.Errorf("make certificates: %w", err)
		}
	}
	urls := make([]string, len(providers))
	for i := range providers {
		urls[i] = fmt.Sprintf("%s://%s:%d", scheme, cfg.Host, cfg.BasePort+1+i)
	}
	for i, p := range providers {
		nc := node.DefaultConfig()
		nc.ID = serverID(p)
		nc.Listen = fmt.Sprintf("%s:%d", cfg.Host, cfg.BasePort+1+i)
		nc.DataDir = filepath.Join(dir, nc.ID)
		nc.Provider = p
		nc.Encoding = cfg.Encoding
		nc.AdminToken = cfg.AdminToken
		if cfg.TLS {
			nc.TLS = true
			nc.TLSCA = filepath.Join(certDir, "ca.pem")
			nc.TLSCert = filepath.Join(certDir, nc.ID+".pem")
			nc.TLSKey = filepath.Join(certDir, nc.ID+"-key.pem")
		}
		for j, u := range urls {
			if j != i {
				nc.Peers = append(nc.Peers, u)
			}
		}
		n, err := node.Start(ctx, nc, log)
		if err != nil {
			return fmt.Errorf("start server %s: %w", nc.ID, err)
		}
		nodes = append(nodes, n)
	}
	prices, err := pricedb.Start(ctx, pricedb.Config{
		Listen: fmt.Sprintf("%s:%d", cfg.Host, cfg.BasePort+10), DataDir: filepath.Join(dir, "priceinfo"),
		AdminToken: cfg.AdminToken, Seed: fixtures.Prices, Logger: log.With("component", "priceinfo"),
	})
	if err != nil {
		return fmt.Errorf("start priceinfo: %w", err)
	}
	defer prices.Close()
	var tlsClient *tls.Config
	if cfg.TLS {
		if tlsClient, err = replication.ClientTLSConfig(filepath.Join(certDir, "proxy.pem"),
			filepath.Join(certDir, "proxy-key.pem"), filepath.Join(certDir, "ca.pem")); err != nil {
			return err
		}
	}
	samples, err := uploadSamples(ctx, nodes[0].URL(), cfg.Encoding, tlsClient)
	if err != nil {
		return fmt.Errorf("upload samples: %w", err)
	}

	rc := router.DefaultConfig()
	rc.Listen = fmt.Sprintf("%s:%d", cfg.Host, cfg.BasePort)
	rc.Seeds = []string{nodes[0].URL()}
	rc.PriceInfo = prices.URL()
	if rc.Policy, err = router.ParsePolicy(cfg.Policy); err != nil {
		return fmt.Errorf("--policy: %w", err)
	}
	if cfg.TLS {
		rc.TLSCA = filepath.Join(certDir, "ca.pem")
		rc.TLSCert = filepath.Join(certDir, "proxy.pem")
		rc.TLSKey = filepath.Join(certDir, "proxy-key.pem")
	}
	listening := make(chan string, 1)
	rc.OnListen = func(addr string) { listening <- addr }
	proxyCtx, stopProxy := context.WithCancel(ctx)
	proxyDone := make(chan error, 1)
	go func() { proxyDone <- router.Run(proxyCtx, rc, log.With("component", "proxy")) }()
	// The proxy stops before the servers: the deferred closes run after
	// this wait.
	defer func() {
		stopProxy()
		<-proxyDone
	}()
	var proxyAddr string
	select {
	case proxyAddr = <-listening:
	case err := <-proxyDone:
		return fmt.Errorf("start proxy: %w", err)
	}

	printGuide(stdout, cfg, nodes, prices.URL(), "http://"+proxyAddr, samples)
	if cfg.TLS {
		fmt.Fprintf(stdout, "\nServers speak HTTPS with mutual TLS between peers: give curl --cacert %s\n"+
			"(objects need no client certificate; the peer sync API does: --cert/--key %s/proxy.pem, proxy-key.pem)\n",
			filepath.Join(certDir, "ca.pem"), certDir)
	}
	select {
	case <-ctx.Done():
	case err := <-proxyDone:
		proxyDone <- err
		return fmt.Errorf("proxy stopped: %w", err)
	}
	fmt.Fprintln(stdout, "\nstopping")
	return nil
}

func serverID(provider string) string { return provider + "-1" }

// uploadSamples puts a text file and a photo-like JPEG on the first server.
func uploadSamples(ctx context.Context, server string, enc wire.Encoding, tlsClient *tls.Config) ([]string, error) {
	var photo bytes.Buffer
	if err := jpeg.Encode(&photo, samplePhoto(1600, 1200), &jpeg.Options{Quality: 85}); err != nil {
		return nil, err
	}
	files := []struct {
		key, ct string
		data    []byte
	}{
		{"hello.txt", "text/plain; charset=utf-8", []byte("Hello from metacdn.\n")},
		{"images/sample.jpg", "image/jpeg", photo.Bytes()},
	}
	up := &uploader.Uploader{Server: server, Encoding: enc}
	if tlsClient != nil {
		up.Client = &http.Client{Transport: &http.Transport{TLSClientConfig: tlsClient}}
	}
	var keys []string
	for _, f := range files {
		if _, err := up.Upload(ctx, uploader.UploadFile{Key: f.key, ContentType: f.ct, Size: int64(len(f.data)),
			Body: bytes.NewReader(f.data), Meta: map[string]string{"source": "demo"}}); err != nil {
			return nil, fmt.Errorf("%s: %w", f.key, err)
		}
		keys = append(keys, f.key)
	}
	return keys, nil
}

// samplePhoto draws smooth colour gradients, which compress like a photo.
func samplePhoto(w, h int) image.Image {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.RGBA{uint8(x * 255 / w), uint8(y * 255 / h), uint8((x + y) * 255 / (w + h)), 255})
		}
	}
	return img
}

func printGuide(w io.Writer, cfg Config, nodes []*node.Node, priceURL, proxyURL string, samples []string) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "metacdn local deployment is running (Ctrl-C stops it)")
	fmt.Fprintln(tw)
	for i, n := range nodes {
		fmt.Fprintf(tw, "  server %s\t%s\tprovider %s\n", n.ID(), n.URL(), providers[i])
	}
	fmt.Fprintf(tw, "  priceinfo\t%s\tseeded with list prices\n", priceURL)
	fmt.Fprintf(tw, "  proxy\t%s\tpolicy %s\n", proxyURL, cfg.Policy)
	fmt.Fprintln(tw)
	s1 := nodes[0].URL()
	s2 := nodes[len(nodes)-1].URL()
	fmt.Fprintf(tw, "Uploaded: %s\n\nTry:\n", strings.Join(samples, ", "))
	fmt.Fprintf(tw, "  curl -i %s/v1/objects/hello.txt                 # routed by the proxy: see X-Cdn-Server\n", proxyURL)
	fmt.Fprintf(tw, "  curl -i -x %s http://cdn.example/v1/objects/hello.txt   # the proxy in forward mode\n", proxyURL)
	fmt.Fprintf(tw, "  curl -s %s/_proxy/status                         # servers, figures, prices, scores, decisions\n", proxyURL)
	fmt.Fprintf(tw, "  curl -o small.jpg -D - '%s/v1/objects/images/sample.jpg?w=320'\n", proxyURL)
	fmt.Fprintf(tw, "  curl -s %s/v1/variants/images/sample.jpg\n", s1)
	fmt.Fprintf(tw, "  curl -T README.md %s/v1/objects/docs/readme.md\n", s1)
	fmt.Fprintf(tw, "  curl -i %s/v1/objects/hello.txt\n", s2)
	fmt.Fprintf(tw, "  curl -s %s/v1/objects | head\n", s1)
	fmt.Fprintf(tw, "  go run ./cmd/upload --server %s --encoding json go.mod\n", s1)
	fmt.Fprintf(tw, "  curl -s %s/v1/peers\n", s1)
	fmt.Fprintf(tw, "  curl -X DELETE -H 'Authorization: Bearer %s' %s/v1/objects/hello.txt\n", cfg.AdminToken, s1)
	fmt.Fprintf(tw, "  curl -s %s/metrics | grep metacdn_\n", s1)
	fmt.Fprintf(tw, "  curl -s %s/v1/prices\n", priceURL)
	fmt.Fprintf(tw, "  curl -X PUT -H 'Authorization: Bearer %s' -d '{\"egress_usd_per_gb\":0.05,\"server_usd_per_hour\":0.02}' %s/v1/prices/gcp\n", cfg.AdminToken, priceURL)
	tw.Flush()
}
