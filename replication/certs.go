package replication

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Validity of the certificates MakeCerts writes.
const (
	CAValidity     = 10 * 365 * 24 * time.Hour
	ServerValidity = 5 * 365 * 24 * time.Hour
)

// ErrBadCertName is returned when a certificate name could not be a file name.
var ErrBadCertName = errors.New("certificate name must be a host name without slashes")

// CertFiles names the files MakeCerts wrote for one server.
type CertFiles struct {
	Name, Cert, Key string
}

// MakeCerts writes a cluster CA (dir/ca.pem, dir/ca-key.pem) unless one is
// already there, in which case it is reused so that later servers join the
// same cluster, and for each name a certificate and key (dir/NAME.pem,
// dir/NAME-key.pem) signed by it. Each certificate is valid for NAME,
// localhost and 127.0.0.1, as a server and as a client (mutual TLS between
// peers). Keys are ECDSA P-256.
func MakeCerts(dir string, names []string) (ca string, files []CertFiles, err error) {
	for _, n := range names {
		if n == "" || n == "ca" || strings.ContainsAny(n, `/\ `) || strings.HasPrefix(n, ".") {
			return "", nil, fmt.Errorf("%q: %w", n, ErrBadCertName)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", nil, fmt.Errorf("make certs: %w", err)
	}
	ca = filepath.Join(dir, "ca.pem")
	caCert, caKey, err := loadOrMakeCA(ca, filepath.Join(dir, "ca-key.pem"))
	if err != nil {
		return "", nil, err
	}
	for _, n := range names {
		f := CertFiles{Name: n, Cert: filepath.Join(dir, n+".pem"), Key: filepath.Join(dir, n+"-key.pem")}
		if err := makeServerCert(f, caCert, caKey); err != nil {
			return "", nil, err
		}
		files = append(files, f)
	}
	return ca, files, nil
}

func loadOrMakeCA(certPath, keyPath string) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	_, errC := os.Stat(certPath)
	_, errK := os.Stat(keyPath)
	switch {
	case errC == nil && errK == nil:
		return loadCAPair(certPath, keyPath)
	case errC == nil || errK == nil:
		return nil, nil, fmt.Errorf("make certs: only one of %s and %s exists; remove it or restore the other", certPath, keyPath)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("make CA key: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "metacdn cluster CA", Organization: []string{"metacdn"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(CAValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("make CA: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("make CA: %w", err)
	}
	if err := writePEM(keyPath, key); err != nil {
		return nil, nil, err
	}
	if err := writeFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return nil, nil, err
	}
	return cert, key, nil
}

func loadCAPair(certPath, keyPath string) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	cb, err := os.ReadFile(certPath)
	if err != nil {
		return nil, nil, fmt.Errorf("read CA: %w", err)
	}
	blk, _ := pem.Decode(cb)
	if blk == nil || blk.Type != "CERTIFICATE" {
		return nil, nil, fmt.Errorf("read CA %s: %w", certPath, ErrNoCACerts)
	}
	cert, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("read CA %s: %w", certPath, err)
	}
	kb, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, nil, fmt.Errorf("read CA key: %w", err)
	}
	kblk, _ := pem.Decode(kb)
	if kblk == nil {
		return nil, nil, fmt.Errorf("read CA key %s: no PEM block", keyPath)
	}
	var key any
	switch kblk.Type {
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(kblk.Bytes)
	default:
		key, err = x509.ParsePKCS8PrivateKey(kblk.Bytes)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read CA key %s: %w", keyPath, err)
	}
	ek, ok := key.(*ecdsa.PrivateKey)
	if !ok {
		return nil, nil, fmt.Errorf("read CA key %s: not an ECDSA key", keyPath)
	}
	return cert, ek, nil
}

func makeServerCert(f CertFiles, ca *x509.Certificate, caKey *ecdsa.PrivateKey) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("make key for %s: %w", f.Name, err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: f.Name, Organization: []string{"metacdn"}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(ServerValidity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	if ip := net.ParseIP(f.Name); ip != nil {
		tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
	} else if f.Name != "localhost" {
		tmpl.DNSNames = append([]string{f.Name}, tmpl.DNSNames...)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return fmt.Errorf("make certificate for %s: %w", f.Name, err)
	}
	if err := writePEM(f.Key, key); err != nil {
		return err
	}
	return writeFile(f.Cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
}

func writePEM(path string, key *ecdsa.PrivateKey) error {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("encode key: %w", err)
	}
	return writeFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
}

// writeFile writes through a temporary file and a rename, so that an
// interrupted run leaves no half-written key behind.
func writeFile(path string, b []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".certs-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 126))
	if err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	return n
}
