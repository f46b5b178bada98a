package router

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"
)

// Policy names how the proxy ranks servers for a request.
type Policy string

// The routing policies.
const (
	// PolicyNetwork picks the lowest expected transfer time.
	PolicyNetwork Policy = "network"
	// PolicyPrice picks the lowest egress price per GB.
	PolicyPrice Policy = "price"
	// PolicyCombined weighs normalised network time against normalised price.
	PolicyCombined Policy = "combined"
)

// ParsePolicy turns a flag value into a Policy.
func ParsePolicy(s string) (Policy, error) {
	switch p := Policy(strings.ToLower(strings.TrimSpace(s))); p {
	case PolicyNetwork, PolicyPrice, PolicyCombined:
		return p, nil
	}
	return "", fmt.Errorf("%q: %w", s, ErrUnknownPolicy)
}

// Defaults of Config.
const (
	// DefaultListen is the proxy's place in the demo's layout (servers
	// from :8081, priceinfo :8090).
	DefaultListen            = "127.0.0.1:8080"
	DefaultPolicy            = PolicyNetwork
	DefaultWeight            = 0.5
	DefaultProbeInterval     = time.Second
	DefaultProbeTimeout      = 2 * time.Second
	DefaultDiscoveryInterval = 10 * time.Second
	DefaultPriceInterval     = 5 * time.Second
	DefaultDialTimeout       = 2 * time.Second
	DefaultHeaderTimeout     = 30 * time.Second
	DefaultEjectBase         = time.Second
	DefaultEjectMax          = 30 * time.Second
	DefaultMaxAttempts       = 8
	DefaultMaxNotFound       = 3
	DefaultAlpha             = 0.3
	DefaultMinThroughputSize = 64 << 10
	DefaultThroughputTTL     = time.Minute
	DefaultNetFloor          = time.Millisecond
	DefaultPriceFloor        = 0.001
	DefaultAssumedSize       = 16 << 10
	DefaultMaxIdlePerHost    = 256
)

// Config configures a Router. DefaultConfig fills every field; zero
// durations and counts are invalid rather than "unlimited".
type Config struct {
	// Listen is the proxy's HOST:PORT (used by Run; New ignores it).
	Listen string
	// Seeds are server base URLs the proxy asks for the peer list. They
	// stay known even when no answer lists them, so discovery can restart.
	Seeds []string
	// Static are servers known without discovery (--servers).
	Static []StaticServer
	// PriceInfo is the price service's base URL; empty means no prices
	// (the price policy then ranks every server equal and falls back to the
	// network figures).
	PriceInfo string
	Policy    Policy
	// Weight is the network share of the combined score, in [0,1].
	Weight float64

	ProbeInterval     time.Duration
	ProbeTimeout      time.Duration
	DiscoveryInterval time.Duration
	PriceInterval     time.Duration
	DialTimeout       time.Duration
	// HeaderTimeout bounds the wait for a server's response headers; a
	// server over it counts as failed.
	HeaderTimeout time.Duration
	// EjectBase is the first ejection; each further consecutive failure
	// doubles it up to EjectMax.
	EjectBase time.Duration
	EjectMax  time.Duration
	// MaxAttempts bounds the servers one idempotent request tries.
	MaxAttempts int
	// MaxNotFound is how many servers may answer 404 before the client
	// sees it (a server may lag in replication).
	MaxNotFound int
	// Alpha is the EWMA weight of a new sample, in (0,1].
	Alpha float64
	// MinThroughputSize is the smallest response body that feeds the
	// throughput figure; smaller ones measure latency, not bandwidth.
	MinThroughputSize int64
	// ThroughputTTL is how long a throughput figure counts without a new
	// transfer; after it the server is "unknown" again, so it gets the
	// next large transfer and is measured afresh.
	ThroughputTTL time.Duration
	// NetFloor and PriceFloor keep the combined score's "best" divisors
	// from being so small that noise dominates.
	NetFloor   time.Duration
	PriceFloor float64
	// AssumedSize is the transfer size the network policy assumes when
	// neither the request nor an earlier answer tells it.
	AssumedSize    int64
	MaxIdlePerHost int
	// StdTransport sends every request through net/http's Transport; by
	// default GETs and HEADs without a body to http:// servers take a
	// leaner path (see upstream.go).
	StdTransport bool

	// TLSCert, TLSKey and TLSCA make the proxy a client of servers that
	// run with --tls: it trusts TLSCA and presents TLSCert.
	TLSCert, TLSKey, TLSCA string

	// OnListen, when set, is called by Run with the bound address.
	OnListen func(addr string)
}

// StaticServer is a server given on the command line rather than learnt.
type StaticServer struct {
	ID, URL, Provider string
}

// ParseStatic reads a --servers value: comma-separated id=url or
// id@provider=url entries.
func ParseStatic(s string) ([]StaticServer, error) {
	var out []StaticServer
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		idp, u, ok := strings.Cut(part, "=")
		if !ok || idp == "" || u == "" {
			return nil, fmt.Errorf("server %q: %w: want id=url or id@provider=url", part, ErrInvalidConfig)
		}
		id, provider, _ := strings.Cut(idp, "@")
		if err := checkURL(u); err != nil {
			return nil, fmt.Errorf("server %q: %w: %v", part, ErrInvalidConfig, err)
		}
		out = append(out, StaticServer{ID: id, URL: u, Provider: provider})
	}
	return out, nil
}

// DefaultConfig returns a Config with every default filled in.
func DefaultConfig() Config {
	return Config{
		Listen:            DefaultListen,
		Policy:            DefaultPolicy,
		Weight:            DefaultWeight,
		ProbeInterval:     DefaultProbeInterval,
		ProbeTimeout:      DefaultProbeTimeout,
		DiscoveryInterval: DefaultDiscoveryInterval,
		PriceInterval:     DefaultPriceInterval,
		DialTimeout:       DefaultDialTimeout,
		HeaderTimeout:     DefaultHeaderTimeout,
		EjectBase:         DefaultEjectBase,
		EjectMax:          DefaultEjectMax,
		MaxAttempts:       DefaultMaxAttempts,
		MaxNotFound:       DefaultMaxNotFound,
		Alpha:             DefaultAlpha,
		MinThroughputSize: DefaultMinThroughputSize,
		ThroughputTTL:     DefaultThroughputTTL,
		NetFloor:          DefaultNetFloor,
		PriceFloor:        DefaultPriceFloor,
		AssumedSize:       DefaultAssumedSize,
		MaxIdlePerHost:    DefaultMaxIdlePerHost,
	}
}

// ConfigError names the Config field that is wrong.
type ConfigError struct {
	Field  string
	Reason string
}

func (e *ConfigError) Error() string { return "config: " + e.Field + ": " + e.Reason }

// Unwrap makes errors.Is(err, ErrInvalidConfig) hold.
func (e *ConfigError) Unwrap() error { return ErrInvalidConfig }

// Validate reports the first bad field.
func (c *Config) Validate() error {
	bad := func(f, r string) error { return &ConfigError{Field: f, Reason: r} }
	if len(c.Seeds) == 0 && len(c.Static) == 0 {
		return bad("Seeds", "no server: give --server URL (any one node) or --servers id=url,...")
	}
	for _, s := range c.Seeds {
		if err := checkURL(s); err != nil {
			return bad("Seeds", err.Error())
		}
	}
	for _, s := range c.Static {
		if s.ID == "" {
			return bad("Static", "empty server id in id=url")
		}
		if err := checkURL(s.URL); err != nil {
			return bad("Static", err.Error())
		}
	}
	if c.PriceInfo != "" {
		if err := checkURL(c.PriceInfo); err != nil {
			return bad("PriceInfo", err.Error())
		}
	}
	if _, err := ParsePolicy(string(c.Policy)); err != nil {
		return bad("Policy", "must be network, price or combined")
	}
	if c.Weight < 0 || c.Weight > 1 || c.Weight != c.Weight {
		return bad("Weight", "must be between 0 and 1")
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"ProbeInterval", c.ProbeInterval}, {"ProbeTimeout", c.ProbeTimeout},
		{"DiscoveryInterval", c.DiscoveryInterval}, {"PriceInterval", c.PriceInterval},
		{"DialTimeout", c.DialTimeout}, {"HeaderTimeout", c.HeaderTimeout},
		{"EjectBase", c.EjectBase}, {"EjectMax", c.EjectMax}, {"NetFloor", c.NetFloor},
		{"ThroughputTTL", c.ThroughputTTL},
	} {
		if d.v <= 0 {
			return bad(d.name, "must be positive")
		}
	}
	if c.EjectMax < c.EjectBase {
		return bad("EjectMax", "must not be below EjectBase")
	}
	if c.MaxAttempts < 1 {
		return bad("MaxAttempts", "must be at least 1")
	}
	if c.MaxNotFound < 1 {
		return bad("MaxNotFound", "must be at least 1")
	}
	if !(c.Alpha > 0 && c.Alpha <= 1) {
		return bad("Alpha", "must be in (0,1]")
	}
	if c.MinThroughputSize < 1 || c.AssumedSize < 0 {
		return bad("MinThroughputSize", "must be positive")
	}
	if c.PriceFloor <= 0 {
		return bad("PriceFloor", "must be positive")
	}
	if c.MaxIdlePerHost < 1 {
		return bad("MaxIdlePerHost", "must be at least 1")
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return bad("TLSCert", "--tls-cert and --tls-key go together")
	}
	return nil
}

func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("%q is not a URL (want http://HOST:PORT or https://HOST:PORT): %v", s, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q: want http://HOST:PORT or https://HOST:PORT", s)
	}
	return nil
}

// tlsConfig builds the client TLS settings, or nil when none are set.
func (c *Config) tlsConfig() (*tls.Config, error) {
	if c.TLSCA == "" && c.TLSCert == "" {
		return nil, nil
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if c.TLSCA != "" {
		pem, err := os.ReadFile(c.TLSCA)
		if err != nil {
			return nil, fmt.Errorf("read ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("read ca %s: %w", c.TLSCA, ErrBadCertificate)
		}
		tc.RootCAs = pool
	}
	if c.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(c.TLSCert, c.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("load client certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}
