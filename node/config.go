package node

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"metacdn/wire"
)

// Defaults of Config.
const (
	// DefaultListen follows the demo's layout (proxy :8080, servers from
	// :8081, priceinfo :8090), where upload's --server points by default:
	// programs started on their defaults find each other.
	DefaultListen            = "127.0.0.1:8081"
	DefaultHeartbeatInterval = 2 * time.Second
	// DefaultMaxMessageBytes bounds one POST /v1/upload message: a 4 MiB
	// chunk as base64 JSON is 5.4 MiB, so this leaves room for the envelope.
	DefaultMaxMessageBytes = 16 << 20
	// DefaultUploadExpiry is how long an idle resumable upload is kept.
	DefaultUploadExpiry = 24 * time.Hour
	// DefaultBodyIdleTimeout is how long an upload may wait for its
	// client's next bytes. The server has no overall read timeout, since a
	// large file on a slow link takes as long as it takes; this frees a
	// connection whose client went silent.
	DefaultBodyIdleTimeout = time.Minute
)

// Config is everything a node needs to start. DefaultConfig fills it.
type Config struct {
	ID        string   // unique server id; required
	Listen    string   // HOST:PORT to bind; port 0 picks a free one
	Advertise string   // base URL peers and proxies use; empty: scheme://bound address
	DataDir   string   // holds the bbolt file; required
	Peers     []string // initial peer base URLs
	Provider  string   // cloud provider name, joins the node to its price row
	Encoding  wire.Encoding

	AdminToken string // empty disables the admin API

	TLS     bool // serve HTTPS and talk to peers over mutual TLS
	TLSCert string
	TLSKey  string
	TLSCA   string

	HeartbeatInterval time.Duration
	MaxObjectSize     int64 // zero means no bound
	MaxMessageBytes   int64
	UploadExpiry      time.Duration
	ChunkSize         int // zero means storage.DefaultChunkSize
	// BodyIdleTimeout fails an upload whose client sends nothing for
	// this long (408); zero means DefaultBodyIdleTimeout.
	BodyIdleTimeout time.Duration
	// SessionWait bounds how long a request on an upload session waits
	// for an earlier stream on it to end (503 with Retry-After past it);
	// zero means BodyIdleTimeout plus 10 s.
	SessionWait time.Duration

	Images ImageConfig
}

// DefaultConfig returns a Config with every default filled in.
func DefaultConfig() Config {
	return Config{
		Listen:            DefaultListen,
		Encoding:          wire.Protobuf,
		HeartbeatInterval: DefaultHeartbeatInterval,
		MaxMessageBytes:   DefaultMaxMessageBytes,
		UploadExpiry:      DefaultUploadExpiry,
		Images:            DefaultImageConfig(),
	}
}

// ConfigError names the field of Config that is wrong.
type ConfigError struct {
	Field string
	Msg   string
}

func (e *ConfigError) Error() string { return fmt.Sprintf("config: %s: %s", e.Field, e.Msg) }

// ErrConfig is matched by every ConfigError.
var ErrConfig = errors.New("invalid config")

func (e *ConfigError) Unwrap() error { return ErrConfig }

// Validate reports the first field that cannot work.
func (c *Config) Validate() error {
	if c.ID == "" {
		return &ConfigError{"id", "required: give every server a unique --id"}
	}
	if strings.ContainsAny(c.ID, "/ \t\n") {
		return &ConfigError{"id", "must not contain slashes or spaces"}
	}
	if c.DataDir == "" {
		return &ConfigError{"data", "required: the directory for the server's database"}
	}
	if c.Listen == "" {
		return &ConfigError{"listen", "required"}
	}
	if c.Advertise != "" {
		if err := checkBaseURL(c.Advertise); err != nil {
			return &ConfigError{"advertise", err.Error()}
		}
	}
	for _, p := range c.Peers {
		if err := checkBaseURL(p); err != nil {
			return &ConfigError{"peers", err.Error()}
		}
	}
	if c.Encoding != wire.JSON && c.Encoding != wire.Protobuf {
		return &ConfigError{"encoding", "must be json or protobuf"}
	}
	if c.TLS && (c.TLSCert == "" || c.TLSKey == "" || c.TLSCA == "") {
		return &ConfigError{"tls", "--tls needs --tls-cert, --tls-key and --tls-ca (make them with: certs --out DIR NAME)"}
	}
	if c.HeartbeatInterval <= 0 {
		return &ConfigError{"heartbeat", "must be positive"}
	}
	if c.MaxMessageBytes <= 0 {
		return &ConfigError{"max-message-bytes", "must be positive"}
	}
	return c.Images.Validate()
}

func checkBaseURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("%q: %v", s, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("%q: want an http:// or https:// URL", s)
	}
	if u.Host == "" {
		return fmt.Errorf("%q: no host", s)
	}
	return nil
}
