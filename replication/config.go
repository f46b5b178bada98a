package replication

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"metacdn/wire"
)

// Defaults of Config.
const (
	DefaultHeartbeatInterval = 2 * time.Second
	// DefaultSuspectAfter and DefaultDeadAfter count heartbeat intervals
	// without news from a peer.
	DefaultSuspectAfter = 3
	DefaultDeadAfter    = 10
	// DefaultPushBatch bounds the entries of one push.
	DefaultPushBatch = 256
	// DefaultPushBatchBytes bounds the content one push makes the receiver
	// fetch, so that a push answers within PushTimeout.
	DefaultPushBatchBytes = 64 << 20
	// DefaultPullLimit bounds the entries of one pull answer.
	DefaultPullLimit = 512
	// DefaultFetchConcurrency bounds the blob fetches one push or pull
	// runs at once: enough to keep the disk busy while blobs are in flight.
	DefaultFetchConcurrency = 8
	// DefaultPushTimeout bounds one push, including the receiver fetching
	// the blobs it lacks.
	DefaultPushTimeout = 2 * time.Minute
	// DefaultCallTimeout bounds a pull.
	DefaultCallTimeout = time.Minute
	// minBlobIdleTimeout is the least BlobIdleTimeout defaults to.
	minBlobIdleTimeout = 5 * time.Second
	// DefaultMaxMessageBytes bounds one sync message.
	DefaultMaxMessageBytes = 64 << 20
	// maxBackoff caps the wait after repeated errors talking to a peer.
	maxBackoff = 30 * time.Second
)

// Config configures a Replicator. The zero value of each optional field
// means its default.
type Config struct {
	// ID is this server's id, the origin of its log entries. Required.
	ID string
	// URL is this server's advertised base URL. Required.
	URL string
	// Provider is this server's cloud provider name.
	Provider string
	// Peers are base URLs of initial peers; their ids come with the first
	// heartbeat answer.
	Peers []string
	// Encoding is what this server sends to peers; zero means Protobuf.
	Encoding wire.Encoding
	// HeartbeatInterval is how often heartbeats and anti-entropy pulls run.
	HeartbeatInterval time.Duration
	// SuspectAfter and DeadAfter are counts of heartbeat intervals without
	// a heartbeat after which a peer is suspect or dead.
	SuspectAfter, DeadAfter int
	// ClientTLS, if set, is used for outbound calls to peers (mutual TLS).
	ClientTLS *tls.Config
	// RequireClientCert makes the sync routes refuse calls without a
	// verified client certificate; set it when the server speaks TLS.
	RequireClientCert bool

	PushBatch        int
	PushBatchBytes   int64
	PullLimit        int
	FetchConcurrency int
	PushTimeout      time.Duration
	CallTimeout      time.Duration
	// BlobIdleTimeout abandons a blob fetch that receives nothing for
	// this long; zero means DeadAfter heartbeat intervals, at least 5 s. A
	// large blob on a slow link may take as long as it needs.
	BlobIdleTimeout time.Duration
	MaxMessageBytes int64

	// Logger gets the replicator's log lines; nil means none.
	Logger *slog.Logger
	// Registerer gets the replicator's metrics; nil means they are not
	// registered anywhere.
	Registerer prometheus.Registerer
	// Clock returns the wall time; nil means time.Now.
	Clock func() time.Time
}

func (c *Config) setDefaults() {
	if c.Encoding == "" {
		c.Encoding = wire.Protobuf
	}
	if c.HeartbeatInterval <= 0 {
		c.HeartbeatInterval = DefaultHeartbeatInterval
	}
	if c.SuspectAfter <= 0 {
		c.SuspectAfter = DefaultSuspectAfter
	}
	if c.DeadAfter <= c.SuspectAfter {
		c.DeadAfter = max(DefaultDeadAfter, c.SuspectAfter+1)
	}
	if c.PushBatch <= 0 {
		c.PushBatch = DefaultPushBatch
	}
	if c.PushBatchBytes <= 0 {
		c.PushBatchBytes = DefaultPushBatchBytes
	}
	if c.PullLimit <= 0 {
		c.PullLimit = DefaultPullLimit
	}
	if c.FetchConcurrency <= 0 {
		c.FetchConcurrency = DefaultFetchConcurrency
	}
	if c.PushTimeout <= 0 {
		c.PushTimeout = DefaultPushTimeout
	}
	if c.CallTimeout <= 0 {
		c.CallTimeout = DefaultCallTimeout
	}
	if c.BlobIdleTimeout <= 0 {
		c.BlobIdleTimeout = max(time.Duration(c.DeadAfter)*c.HeartbeatInterval, minBlobIdleTimeout)
	}
	if c.MaxMessageBytes <= 0 {
		c.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
}

// Validate names the first field that cannot work.
func (c *Config) Validate() error {
	if c.ID == "" {
		return fmt.Errorf("config: id: required")
	}
	if err := checkURL(c.URL); err != nil {
		return fmt.Errorf("config: url: %w", err)
	}
	for _, p := range c.Peers {
		if err := checkURL(p); err != nil {
			return fmt.Errorf("config: peers: %w", err)
		}
	}
	if c.Encoding != "" && c.Encoding != wire.JSON && c.Encoding != wire.Protobuf {
		return fmt.Errorf("config: encoding: %w", wire.ErrUnknownEncoding)
	}
	return nil
}

// checkURL reports whether s can be a server's base URL: http or https,
// a host with a port in range if one is given, and nothing a base URL
// cannot carry: credentials (GET /v1/peers would show them), a query or a
// fragment.
func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		return fmt.Errorf("%q: %w", s, ErrBadPeer)
	}
	if u.User != nil || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return fmt.Errorf("%q: credentials, a query or a fragment: %w", s, ErrBadPeer)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("%q: port out of range: %w", s, ErrBadPeer)
		}
	}
	return nil
}
