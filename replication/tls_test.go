package replication

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"metacdn/wire"
)

func mustCerts(t *testing.T, dir string, names ...string) (ca string, files map[string]CertFiles) {
	t.Helper()
	ca, fs, err := MakeCerts(dir, names)
	if err != nil {
		t.Fatalf("MakeCerts: %v", err)
	}
	files = map[string]CertFiles{}
	for _, f := range fs {
		files[f.Name] = f
	}
	return ca, files
}

func tlsNode(t *testing.T, id, ca string, f CertFiles) *testNode {
	t.Helper()
	st, err := ServerTLSConfig(f.Cert, f.Key, ca)
	if err != nil {
		t.Fatal(err)
	}
	ct, err := ClientTLSConfig(f.Cert, f.Key, ca)
	if err != nil {
		t.Fatal(err)
	}
	return newTestNode(t, id, withServerTLS(st), withConfig(func(c *Config) {
		c.ClientTLS = ct
		c.RequireClientCert = true
	}))
}

func clientWith(t *testing.T, ca string, cert *CertFiles) *http.Client {
	t.Helper()
	pem, err := os.ReadFile(ca)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	cfg := &tls.Config{RootCAs: pool}
	if cert != nil {
		pair, err := tls.LoadX509KeyPair(cert.Cert, cert.Key)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg}}
}

func TestTLS_MutualAuth(t *testing.T) {
	dir := t.TempDir()
	ca, files := mustCerts(t, dir, "s1", "s2")
	// A later run adds a server to the same CA.
	ca2, more := mustCerts(t, dir, "s3")
	if ca2 != ca {
		t.Fatalf("CA path changed: %s", ca2)
	}
	files["s3"] = more["s3"]
	otherCA, others := mustCerts(t, t.TempDir(), "evil")

	nodes := []*testNode{tlsNode(t, "s1", ca, files["s1"]), tlsNode(t, "s2", ca, files["s2"]), tlsNode(t, "s3", ca, files["s3"])}
	for _, n := range nodes {
		for _, o := range nodes {
			if o != n {
				n.peers = append(n.peers, o.url)
			}
		}
		n.start()
	}
	nodes[0].put("over-tls", []byte("secret"))
	nodes[2].put("from-s3", []byte("joined later"))
	waitConverged(t, 10*time.Second, nodes...)

	s1 := nodes[0].url
	pull := func(c *http.Client) (int, string, error) {
		res, err := c.Post(s1+"/v1/replication/pull", wire.ContentTypeJSON, strings.NewReader(`{}`))
		if err != nil {
			return 0, "", err
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b), nil
	}
	t.Run("PlainClientReadsPeers", func(t *testing.T) {
		res, err := clientWith(t, ca, nil).Get(s1 + "/v1/peers")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var pl PeerList
		if err := json.NewDecoder(res.Body).Decode(&pl); err != nil || res.StatusCode != http.StatusOK {
			t.Fatalf("GET /v1/peers: %d %v", res.StatusCode, err)
		}
	})
	t.Run("NoCertNoSync", func(t *testing.T) {
		st, body, err := pull(clientWith(t, ca, nil))
		if err != nil {
			t.Fatal(err)
		}
		if st != http.StatusForbidden || !strings.Contains(body, `"error"`) {
			t.Fatalf("pull without a cert: %d %s", st, body)
		}
	})
	t.Run("ClusterCertSyncs", func(t *testing.T) {
		f := files["s2"]
		st, body, err := pull(clientWith(t, ca, &f))
		if err != nil || st != http.StatusOK {
			t.Fatalf("pull with a cluster cert: %d %s %v", st, body, err)
		}
	})
	t.Run("OtherCARefused", func(t *testing.T) {
		f := others["evil"]
		if st, _, err := pull(clientWith(t, ca, &f)); err == nil {
			t.Fatalf("pull with another CA's cert got %d, want a failed handshake", st)
		}
	})
	t.Run("PeerWithOtherCAGetsNothing", func(t *testing.T) {
		evil := tlsNode(t, "evil", otherCA, others["evil"])
		evil.peers = []string{s1}
		evil.start()
		evil.put("evil", []byte("must not spread"))
		// Give it time to try: wait for its failed heartbeats to count.
		waitFor(t, "evil's heartbeats to fail", 10*time.Second, func() bool {
			return counterSum(t, evil.reg, "metacdn_replication_errors_total") >= 3
		})
		if _, err := nodes[0].db.Get("evil"); err == nil {
			t.Fatalf("an object from a server of another CA reached s1")
		}
		if len(evil.state()) != 1 {
			t.Fatalf("evil got objects from the cluster: %v", evil.state())
		}
		if hasPeer(nodes[0].rep.Peers(), "evil") {
			t.Fatalf("s1 lists the server of another CA")
		}
	})
}

func TestMakeCerts(t *testing.T) {
	dir := t.TempDir()
	if _, _, err := MakeCerts(dir, []string{"a/b"}); err == nil {
		t.Fatalf("a name with a slash was accepted")
	}
	ca, files := mustCerts(t, dir, "node1", "127.0.0.2")
	caBefore, _ := os.ReadFile(ca)
	mustCerts(t, dir, "node2")
	if caAfter, _ := os.ReadFile(ca); string(caAfter) != string(caBefore) {
		t.Fatalf("the CA was replaced on the second run")
	}
	pem, _ := os.ReadFile(ca)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	for _, name := range []string{"node1", "127.0.0.2"} {
		pair, err := tls.LoadX509KeyPair(files[name].Cert, files[name].Key)
		if err != nil {
			t.Fatal(err)
		}
		leaf, err := x509.ParseCertificate(pair.Certificate[0])
		if err != nil {
			t.Fatal(err)
		}
		for _, host := range []string{name, "localhost", "127.0.0.1"} {
			_, err := leaf.Verify(x509.VerifyOptions{DNSName: host, Roots: pool,
				KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}})
			if err != nil {
				t.Errorf("%s not valid for %s: %v", name, host, err)
			}
		}
	}
	if st, err := os.Stat(filepath.Join(dir, "node1-key.pem")); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode: %v %v", st.Mode(), err)
	}
}
