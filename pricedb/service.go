package pricedb

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Defaults for Config.
const (
	DefaultListen            = "127.0.0.1:8090"
	DefaultDataDir           = "priceinfo-data"
	DefaultMaxBodyBytes      = 64 << 10
	DefaultMaxHeaderBytes    = 16 << 10
	DefaultReadHeaderTimeout = 5 * time.Second
	DefaultReadTimeout       = 15 * time.Second
	DefaultWriteTimeout      = 15 * time.Second
	DefaultIdleTimeout       = 60 * time.Second
	DefaultShutdownTimeout   = 10 * time.Second

	// DBFile is the name of the bbolt file inside Config.DataDir.
	DBFile = "prices.db"
)

// Config is everything the price service needs to run.
type Config struct {
	// Listen is the TCP address to serve on; port 0 picks a free one
	// (see Service.Addr).
	Listen string
	// DataDir holds the bbolt file; created if missing.
	DataDir string
	// AdminToken guards PUT and DELETE; empty means admin calls are
	// refused.
	AdminToken string
	// SeedFile, if set, is a JSON price file loaded when the database has
	// never been written.
	SeedFile string
	// Seed is the same as SeedFile's content, for callers with the file
	// embedded (the demo uses fixtures.Prices); ignored when SeedFile is
	// set, nil means no seed.
	Seed []byte
	// MaxBodyBytes bounds a PUT body; zero means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// MaxHeaderBytes bounds request headers; zero means
	// DefaultMaxHeaderBytes.
	MaxHeaderBytes int
	// Timeouts of the http.Server and of Close; zero means the Default.
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration
	ShutdownTimeout   time.Duration
	// Logger receives one line per request and the service's own lines;
	// nil means quiet.
	Logger *slog.Logger
}

// DefaultConfig returns a Config with every default filled in.
func DefaultConfig() Config {
	return Config{
		Listen:            DefaultListen,
		DataDir:           DefaultDataDir,
		MaxBodyBytes:      DefaultMaxBodyBytes,
		MaxHeaderBytes:    DefaultMaxHeaderBytes,
		ReadHeaderTimeout: DefaultReadHeaderTimeout,
		ReadTimeout:       DefaultReadTimeout,
		WriteTimeout:      DefaultWriteTimeout,
		IdleTimeout:       DefaultIdleTimeout,
		ShutdownTimeout:   DefaultShutdownTimeout,
	}
}

// ConfigError names the Config field (as its priceinfo flag) that is wrong.
type ConfigError struct {
	Field  string
	Reason string
}

func (e *ConfigError) Error() string { return fmt.Sprintf("--%s: %s", e.Field, e.Reason) }

// Validate returns a *ConfigError for the first bad field.
func (c *Config) Validate() error {
	if c.Listen == "" {
		return &ConfigError{"listen", "is required (HOST:PORT, e.g. 127.0.0.1:8090)"}
	}
	if _, port, err := net.SplitHostPort(c.Listen); err != nil || port == "" {
		return &ConfigError{"listen", fmt.Sprintf("%q is not HOST:PORT (e.g. 127.0.0.1:8090 or :8090)", c.Listen)}
	}
	if c.DataDir == "" {
		return &ConfigError{"data", "is required (a directory for the price database)"}
	}
	if c.MaxBodyBytes < 0 {
		return &ConfigError{"max-body-bytes", "must be >= 0"}
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"read-header-timeout", c.ReadHeaderTimeout},
		{"read-timeout", c.ReadTimeout},
		{"write-timeout", c.WriteTimeout},
		{"idle-timeout", c.IdleTimeout},
		{"shutdown-timeout", c.ShutdownTimeout},
	} {
		if d.v < 0 {
			return &ConfigError{d.name, "must be >= 0"}
		}
	}
	return nil
}

func (c *Config) fillDefaults() {
	def := DefaultConfig()
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = def.MaxBodyBytes
	}
	if c.MaxHeaderBytes == 0 {
		c.MaxHeaderBytes = def.MaxHeaderBytes
	}
	if c.ReadHeaderTimeout == 0 {
		c.ReadHeaderTimeout = def.ReadHeaderTimeout
	}
	if c.ReadTimeout == 0 {
		c.ReadTimeout = def.ReadTimeout
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = def.WriteTimeout
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = def.IdleTimeout
	}
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = def.ShutdownTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Service is a running price service: a Store, a Server and the
// http.Server serving it. Start makes one; Close stops it.
type Service struct {
	cfg     Config
	store   *Store
	ln      net.Listener
	srv     *http.Server
	done    chan struct{} // closed when Serve returned
	serveMu sync.Mutex
	serve   error

	closeOnce sync.Once
	closeErr  error
}

// Start listens on cfg.Listen, opens (and if need be seeds) the database in
// cfg.DataDir and serves until Close. ctx bounds only the start-up.
func Start(ctx context.Context, cfg Config) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.fillDefaults()
	logger := cfg.Logger

	seed, err := loadSeed(cfg)
	if err != nil {
		return nil, err
	}
	// Listen first so a port clash fails before the database is touched.
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", cfg.Listen, err)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		_ = ln.Close()
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	store, err := Open(filepath.Join(cfg.DataDir, DBFile), Options{Logger: logger})
	if err != nil {
		_ = ln.Close()
		return nil, err
	}
	if seed != nil {
		seeded, err := store.Seed(seed)
		if err != nil {
			_ = ln.Close()
			_ = store.Close()
			return nil, err
		}
		logger.Info("seed", "loaded", seeded, "rows", len(seed), "version", store.Version())
	}

	s := &Service{
		cfg:   cfg,
		store: store,
		ln:    ln,
		done:  make(chan struct{}),
		srv: &http.Server{
			Handler:           NewServer(store, cfg),
			ReadHeaderTimeout: cfg.ReadHeaderTimeout,
			ReadTimeout:       cfg.ReadTimeout,
			WriteTimeout:      cfg.WriteTimeout,
			IdleTimeout:       cfg.IdleTimeout,
			MaxHeaderBytes:    cfg.MaxHeaderBytes,
			ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		},
	}
	go func() {
		defer close(s.done)
		err := s.srv.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		s.serveMu.Lock()
		s.serve = err
		s.serveMu.Unlock()
	}()
	logger.Info("priceinfo listening", "addr", s.Addr(), "url", s.URL(), "db", store.Path(),
		"version", store.Version(), "admin", cfg.AdminToken != "")
	return s, nil
}

func loadSeed(cfg Config) ([]Price, error) {
	data, name := cfg.Seed, "embedded seed"
	if cfg.SeedFile != "" {
		var err error
		if data, err = os.ReadFile(cfg.SeedFile); err != nil {
			return nil, fmt.Errorf("read seed: %w", err)
		}
		name = cfg.SeedFile
	}
	if data == nil {
		return nil, nil
	}
	rows, err := DecodeSeed(data)
	if err != nil {
		return nil, fmt.Errorf("seed %s: %w", name, err)
	}
	return rows, nil
}

// Addr is the address the service listens on, with the real port.
func (s *Service) Addr() string { return s.ln.Addr().String() }

// URL is the service's base URL, e.g. http://127.0.0.1:8090.
func (s *Service) URL() string {
	addr := s.ln.Addr().(*net.TCPAddr)
	host := addr.IP.String()
	if addr.IP.IsUnspecified() {
		host = "127.0.0.1"
		if addr.IP.To4() == nil {
			host = "::1"
		}
	}
	return "http://" + net.JoinHostPort(host, fmt.Sprint(addr.Port))
}

// Store is the service's database, for in-process callers.
func (s *Service) Store() *Store { return s.store }

// Done is closed when the service stopped serving (after Close, or when
// serving failed; Err says why).
func (s *Service) Done() <-chan struct{} { return s.done }

// Err is why serving stopped early; nil while serving and after Close.
func (s *Service) Err() error {
	s.serveMu.Lock()
	defer s.serveMu.Unlock()
	return s.serve
}

// Close stops taking requests, waits up to cfg.ShutdownTimeout for those
// in flight, then closes the database. It is safe to call more than once.
func (s *Service) Close() error {
	s.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
		defer cancel()
		err := s.srv.Shutdown(ctx)
		if err != nil {
			err = errors.Join(fmt.Errorf("shutdown: %w", err), s.srv.Close())
		}
		<-s.done
		// The database closes last: no handler can be running now.
		if cerr := s.store.Close(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("close price db: %w", cerr))
		}
		s.closeErr = err
		s.cfg.Logger.Info("priceinfo stopped")
	})
	return s.closeErr
}

// Run starts the service and serves until ctx is done, then closes it.
// It returns nil after a clean shutdown.
func Run(ctx context.Context, cfg Config) error {
	s, err := Start(ctx, cfg)
	if err != nil {
		return err
	}
	select {
	case <-ctx.Done():
	case <-s.Done():
	}
	serveErr := s.Err()
	closeErr := s.Close()
	if serveErr != nil {
		return fmt.Errorf("serve: %w", serveErr)
	}
	return closeErr
}
