package router

import "errors"

// Errors returned by the router package.
var (
	// ErrUnknownPolicy is returned when a policy name is not network,
	// price or combined.
	ErrUnknownPolicy = errors.New("unknown policy: use network, price or combined")
	// ErrInvalidConfig is returned (inside a *ConfigError) when a Config
	// field is out of range.
	ErrInvalidConfig = errors.New("invalid config")
	// ErrBadCertificate is returned when a PEM file holds no certificate.
	ErrBadCertificate = errors.New("no certificate in PEM file")
	// ErrNoServers is returned when no server is known yet.
	ErrNoServers = errors.New("no server known yet")
	// ErrDiscovery is returned when no known server answered /v1/peers.
	ErrDiscovery = errors.New("no server answered the peer list")
	// ErrUnexpectedStatus is returned when a server or the price service
	// answers with a status the caller cannot use.
	ErrUnexpectedStatus = errors.New("unexpected status")
	// ErrStarted is returned when Start is called twice.
	ErrStarted = errors.New("router already started")
)
