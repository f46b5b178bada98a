package router

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
)

// cannedServer answers each request with the bytes canned[path] holds,
// byte for byte, and closes the connection after answers marked so.
type cannedServer struct {
	ln    net.Listener
	conns atomic.Int64
}

var canned = map[string]string{
	"/healthz":      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
	"/plain":        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nx-lower: a\r\nContent-Length: 5\r\n\r\nhello",
	"/twice":        "HTTP/1.1 200 OK\r\nVary: a\r\nVary: b\r\nContent-Length: 1\r\n\r\n.",
	"/chunked":      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
	"/untilclose":   "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nto the end",
	"/barelf":       "HTTP/1.1 200 OK\nContent-Length: 4\nX-Bare: yes\n\nbare",
	"/folded":       "HTTP/1.1 200 OK\r\nX-Fold: a\r\n b\r\nContent-Length: 2\r\n\r\nok",
	"/early":        "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nafter",
	"/http10":       "HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nold",
	"/close":        "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 3\r\n\r\nbye",
	"/nocontent":    "HTTP/1.1 204 No Content\r\nX-A: b\r\n\r\n",
	"/badkey":       "HTTP/1.1 200 OK\r\nBad Key: x\r\nContent-Length: 1\r\n\r\n.",
	"/twolengths":   "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n..",
	"/nostatustext": "HTTP/1.1 299\r\nContent-Length: 1\r\n\r\n.",
	"/big":          "HTTP/1.1 200 OK\r\nX-Big: " + strings.Repeat("b", 70<<10) + "\r\nContent-Length: 3\r\n\r\nbig",
}

// closesAfter are the answers after which the server closes.
var closesAfter = map[string]bool{"/untilclose": true, "/http10": true, "/close": true}

func newCannedServer(t *testing.T) *cannedServer {
	s := &cannedServer{ln: listenLocal(t)}
	t.Cleanup(func() { s.ln.Close() })
	go func() {
		for {
			nc, err := s.ln.Accept()
			if err != nil {
				return
			}
			s.conns.Add(1)
			go s.serve(nc)
		}
	}()
	return s
}

func (s *cannedServer) serve(nc net.Conn) {
	defer nc.Close()
	br := bufio.NewReader(nc)
	for {
		r, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		ans, ok := canned[r.URL.Path]
		if !ok {
			ans = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
		}
		if r.Method == http.MethodHead {
			if i := strings.Index(ans, "\r\n\r\n"); i >= 0 && !strings.Contains(ans, "103") {
				ans = ans[:i+4]
			}
		}
		if _, err := io.WriteString(nc, ans); err != nil || closesAfter[r.URL.Path] {
			return
		}
	}
}

// TestUpstream_Answers sends answers of every framing through the proxy:
// the ones the lean reader parses and the ones it leaves to net/http must
// reach the client alike.
func TestUpstream_Answers(t *testing.T) {
	cs := newCannedServer(t)
	cfg := testConfig("http://127.0.0.1:1")
	cfg.Seeds = nil
	cfg.Static = []StaticServer{{ID: "a", URL: "http://" + cs.ln.Addr().String(), Provider: "p"}}
	rt, ps := mustRouter(t, cfg)
	if rt.table.Load().byID["a"].fast == nil {
		t.Fatal("http server without the lean client")
	}
	for _, tc := range []struct {
		path, want string
		header     [2]string
	}{
		{"/plain", "200 hello", [2]string{"X-Lower", "a"}},
		{"/twice", "200 .", [2]string{"Vary", "a,b"}},
		{"/chunked", "200 abcde", [2]string{}},
		{"/untilclose", "200 to the end", [2]string{"Content-Type", "text/plain"}},
		{"/barelf", "200 bare", [2]string{"X-Bare", "yes"}},
		{"/folded", "200 ok", [2]string{"X-Fold", "a b"}},
		{"/early", "200 after", [2]string{}},
		{"/http10", "200 old", [2]string{}},
		{"/close", "200 bye", [2]string{}},
		{"/nocontent", "204 ", [2]string{"X-A", "b"}},
		{"/nostatustext", "299 .", [2]string{}},
		{"/big", "200 big", [2]string{}},
		{"/badkey", "200 .", [2]string{}}, // as net/http's reader has it
		{"/twolengths", "502 ", [2]string{}},
	} {
		for _, method := range []string{"GET", "HEAD", "GET"} {
			t.Run(method+tc.path, func(t *testing.T) {
				req, _ := http.NewRequest(method, ps.URL+tc.path, nil)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				b, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil {
					t.Fatal(err)
				}
				want := tc.want
				if method == "HEAD" {
					want = want[:4]
				}
				if got := resp.Status[:4] + string(b); !strings.HasPrefix(got, want) || (resp.StatusCode != 502 && got != want) {
					t.Fatalf("got %q, want %q", got, want)
				}
				if k := tc.header[0]; k != "" && strings.Join(resp.Header.Values(k), ",") != tc.header[1] {
					t.Fatalf("%s: %q, want %q", k, resp.Header.Values(k), tc.header[1])
				}
			})
			// A server marked bad by a 502 would be ejected for the next case.
			for _, s := range rt.Servers() {
				s.st.ejectedUntil.Store(0)
			}
		}
	}
	// Answers that leave the connection reusable did not cost one each.
	before := cs.conns.Load()
	for i := 0; i < 10; i++ {
		for _, p := range []string{"/plain", "/twice", "/chunked", "/nocontent"} {
			resp, _ := get(t, nil, ps.URL+p)
			if resp.StatusCode >= 300 {
				t.Fatalf("%s: status %d", p, resp.StatusCode)
			}
		}
		req, _ := http.NewRequest("HEAD", ps.URL+"/plain", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if got := cs.conns.Load() - before; got > 1 {
		t.Fatalf("%d new connections for 50 sequential requests, want at most 1", got)
	}
}
