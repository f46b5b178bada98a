package replication

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
)

// ErrNoCACerts is returned when a CA file holds no PEM certificate.
var ErrNoCACerts = errors.New("no PEM certificate in CA file")

// ServerTLSConfig is the TLS config of a server's listener. A client
// certificate is optional, so that curl, browsers and the proxy can fetch
// objects over HTTPS; one that is given must be signed by the CA, else the
// handshake fails. The sync routes then refuse calls that came without one
// (see Config.RequireClientCert).
func ServerTLSConfig(cert, key, ca string) (*tls.Config, error) {
	pair, err := tls.LoadX509KeyPair(cert, key)
	if err != nil {
		return nil, fmt.Errorf("load server certificate: %w", err)
	}
	pool, err := loadCA(ca)
	if err != nil {
		return nil, err
	}
	return &tls.Config{
		Certificates: []tls.Certificate{pair},
		ClientCAs:    pool,
		ClientAuth:   tls.VerifyClientCertIfGiven,
		MinVersion:   tls.VersionTLS12,
	}, nil
}

// ClientTLSConfig is the TLS config of outbound calls to peers: it shows the
// server's own certificate and trusts only servers the CA signed.
func ClientTLSConfig(cert, key, ca string) (*tls.Config, error) {
	pair, err := tls.LoadX509KeyPair(cert, key)
	if err != nil {
		return nil, fmt.Errorf("load client certificate: %w", err)
	}
	pool, err := loadCA(ca)
	if err != nil {
		return nil, err
	}
	return &tls.Config{
		Certificates: []tls.Certificate{pair},
		RootCAs:      pool,
		MinVersion:   tls.VersionTLS12,
	}, nil
}

func loadCA(path string) (*x509.CertPool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("read CA %s: %w", path, ErrNoCACerts)
	}
	return pool, nil
}

// hasVerifiedClientCert reports whether the request came over TLS with a
// client certificate that chains to the CA.
func hasVerifiedClientCert(r *http.Request) bool {
	return r.TLS != nil && len(r.TLS.VerifiedChains) > 0
}
