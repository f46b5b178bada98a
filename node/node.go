package node

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"metacdn/storage"
)

// DBFile is the name of the bbolt file inside Config.DataDir.
const DBFile = "metacdn.db"

// shutdownTimeout bounds how long Close waits for requests in flight.
const shutdownTimeout = 10 * time.Second

var nowFunc = time.Now

// Node is a running server: listener, database, loops.
type Node struct {
	cfg    Config
	log    *slog.Logger
	db     *storage.DB
	syncer Syncer
	images *imageService
	reg    *prometheus.Registry
	met    *metrics

	ln     net.Listener
	srv    *http.Server
	url    string
	cancel context.CancelFunc
	wg     sync.WaitGroup
	closed sync.Once
}

// Syncer is the replication side of a node, as node needs it.
type Syncer interface {
	// Start starts the loops and returns at once.
	Start(ctx context.Context)
	// Stop stops the loops and waits for them.
	Stop()
	// Notify tells the syncer that a local commit appended to the log.
	Notify()
	// SyncRoutes serves /v1/replication.
	SyncRoutes() http.Handler
	// PeerRoutes serves /v1/peers; admin wraps the routes that change it.
	PeerRoutes(admin func(http.Handler) http.Handler) http.Handler
}

// Start starts a node and returns once it serves. The caller owns it and
// must Close it; cancelling ctx does not stop it.
func Start(ctx context.Context, cfg Config, log *slog.Logger) (*Node, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("node", cfg.ID)
	n := &Node{cfg: cfg, log: log, reg: prometheus.NewRegistry()}

	// Listen before opening the database so that a busy port fails fast,
	// before anything is written.
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	n.ln = ln
	scheme := "http"
	var tlsCfg *tls.Config
	if cfg.TLS {
		scheme = "https"
		if tlsCfg, err = serverTLSConfig(cfg); err != nil {
			ln.Close()
			return nil, fmt.Errorf("tls: %w", err)
		}
	}
	n.url = cfg.Advertise
	if n.url == "" {
		n.url = scheme + "://" + ln.Addr().String()
	}
	n.cfg.Advertise = n.url

	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		ln.Close()
		return nil, fmt.Errorf("data dir: %w", err)
	}
	db, err := storage.Open(filepath.Join(cfg.DataDir, DBFile), storage.Options{
		NodeID:        cfg.ID,
		ChunkSize:     cfg.ChunkSize,
		MaxObjectSize: cfg.MaxObjectSize,
		Logger:        log.With("component", "storage"),
		OnAppend:      n.notify,
	})
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("open storage: %w", err)
	}
	n.db = db

	n.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	n.met = newMetrics(n.reg, db)
	if n.images, err = newImageService(db, cfg.Images, n.reg, log.With("component", "images")); err != nil {
		n.closeAfterFailedStart()
		return nil, err
	}
	if n.syncer, err = newSyncer(db, n.cfg, n.reg, log.With("component", "replication")); err != nil {
		n.closeAfterFailedStart()
		return nil, fmt.Errorf("replication: %w", err)
	}

	n.srv = &http.Server{
		Handler:           n.newRouter(),
		TLSConfig:         tlsCfg,
		ReadHeaderTimeout: 10 * time.Second,
		// No ReadTimeout or WriteTimeout: a large object on a slow link
		// legitimately takes minutes. Bodies are bounded by size instead,
		// and idle connections by IdleTimeout.
		IdleTimeout:    2 * time.Minute,
		MaxHeaderBytes: 64 << 10,
		ErrorLog:       slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		ConnContext:    connContext,
	}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		var err error
		if tlsCfg != nil {
			err = n.srv.ServeTLS(ln, "", "")
		} else {
			err = n.srv.Serve(respListener{ln})
		}
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("serve", "err", err)
		}
	}()

	loopCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	n.cancel = cancel
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		n.expireUploads(loopCtx)
	}()
	// Replication starts last: it pulls what this node missed from peers,
	// and peers pushing to it need the handlers above to answer.
	n.syncer.Start(loopCtx)
	log.Info("server started", "listen", ln.Addr().String(), "url", n.url, "data", cfg.DataDir,
		"provider", cfg.Provider, "encoding", string(cfg.Encoding), "tls", cfg.TLS)
	return n, nil
}

func (n *Node) closeAfterFailedStart() {
	n.ln.Close()
	n.db.Close()
}

func (n *Node) notify() {
	if n.syncer != nil {
		n.syncer.Notify()
	}
	// Replicated writes append to the log too: the image service's sweep
	// finds new images there, so a replica's variants appear right away.
	if n.images != nil {
		n.images.kick()
	}
}

// URL is the node's advertised base URL.
func (n *Node) URL() string { return n.url }

// Addr is the address the node listens on.
func (n *Node) Addr() net.Addr { return n.ln.Addr() }

// DB is the node's database, for tests and tools in the same process.
func (n *Node) DB() *storage.DB { return n.db }

// Close stops taking requests, waits for those in flight (bounded), stops
// the loops and closes the database last, so nothing writes to a closed
// file.
func (n *Node) Close() error {
	var err error
	n.closed.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		if e := n.srv.Shutdown(ctx); e != nil {
			n.srv.Close()
		}
		n.syncer.Stop()
		n.cancel()
		n.wg.Wait()
		n.images.Close()
		err = n.db.Close()
		n.log.Info("server stopped")
	})
	return err
}

// Run starts a node and serves until ctx is done, then closes it.
func Run(ctx context.Context, cfg Config, log *slog.Logger) error {
	n, err := Start(ctx, cfg, log)
	if err != nil {
		return err
	}
	<-ctx.Done()
	return n.Close()
}

func (n *Node) expireUploads(ctx context.Context) {
	t := time.NewTicker(10 * time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if c, err := n.db.ExpireUploads(n.cfg.UploadExpiry); err != nil {
				n.log.Warn("expire uploads", "err", err)
			} else if c > 0 {
				n.log.Info("expired uploads", "count", c)
			}
		}
	}
}

// ID is the node's server id.
func (n *Node) ID() string { return n.cfg.ID }
