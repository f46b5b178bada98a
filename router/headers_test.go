package router

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	"testing"
)

// headerServer answers every request with the header lines it received,
// sorted, as its body; the answer carries hop-by-hop headers and an
// X-Cdn-Server of its own, which the proxy must not pass on.
func headerServer(t *testing.T) net.Listener {
	return serveConns(t, func(nc net.Conn) {
		br := bufio.NewReader(nc)
		for {
			r, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			var lines []string
			for k, vv := range r.Header {
				for _, v := range vv {
					lines = append(lines, k+": "+v)
				}
			}
			sort.Strings(lines)
			body := strings.Join(lines, "\n")
			extra := "Keep-Alive: timeout=5\r\nConnection: keep-alive\r\n"
			if r.URL.Path == "/named" {
				extra = "Connection: X-Gone, keep-alive\r\nX-Gone: 1\r\n"
			}
			fmt.Fprintf(nc, "HTTP/1.1 200 OK\r\n%sX-Srv: 1\r\nX-Cdn-Server: upstream\r\nProxy-Authenticate: Basic\r\nContent-Length: %d\r\n\r\n%s", extra, len(body), body)
		}
	})
}

// TestProxy_Headers checks what the proxy passes on each way: hop-by-hop
// headers and those a Connection header names are dropped,
// X-Forwarded-For gets the client's address, no User-Agent is made up,
// and the answer carries the proxy's own X-Cdn-Server and X-Cdn-Policy
// in place of any the server sent. The lean front
// reads the first request into lines, not a map; the one whose
// Connection header names another goes through a map; both must come
// out alike, on the lean client and on http.Transport.
func TestProxy_Headers(t *testing.T) {
	ln := headerServer(t)
	for _, std := range []bool{false, true} {
		t.Run(fmt.Sprintf("std=%v", std), func(t *testing.T) {
			cfg := testConfig("http://127.0.0.1:1")
			cfg.Seeds = nil
			cfg.StdTransport = std
			cfg.Static = []StaticServer{{ID: "a", URL: "http://" + ln.Addr().String(), Provider: "p"}}
			rt, ps := mustRouter(t, cfg)
			nc, err := net.Dial("tcp", strings.TrimPrefix(ps.URL, "http://"))
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			br := bufio.NewReader(nc)
			ask := func(req string) (*http.Response, string) {
				t.Helper()
				if _, err := io.WriteString(nc, req); err != nil {
					t.Fatal(err)
				}
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					t.Fatal(err)
				}
				b, err := io.ReadAll(resp.Body)
				if err != nil {
					t.Fatal(err)
				}
				return resp, string(b)
			}
			common := "Accept: */*\r\nKeep-Alive: 300\r\nProxy-Authorization: secret\r\nTe: trailers\r\nX-Forwarded-For: 10.0.0.1\r\nX-Forwarded-For: 10.0.0.2\r\n"
			for _, tc := range []struct {
				name, req, want string
			}{
				{"lines", "GET /lines HTTP/1.1\r\nHost: x\r\nUser-Agent: t/1\r\nConnection: keep-alive\r\n" + common + "\r\n",
					"Accept: */*\nUser-Agent: t/1\nX-Forwarded-For: 10.0.0.1, 10.0.0.2, 127.0.0.1"},
				{"map", "GET /map HTTP/1.1\r\nHost: x\r\nConnection: X-Drop, keep-alive\r\nX-Drop: 1\r\nX-Keep: 2\r\n" + common + "\r\n",
					"Accept: */*\nX-Forwarded-For: 10.0.0.1, 10.0.0.2, 127.0.0.1\nX-Keep: 2"},
				{"named", "GET /named HTTP/1.1\r\nHost: x\r\n\r\n", "X-Forwarded-For: 127.0.0.1"},
				{"range", "GET /range HTTP/1.1\r\nHost: x\r\nRange: bytes=0-1\r\n\r\n", "Range: bytes=0-1\nX-Forwarded-For: 127.0.0.1"},
				{"plain", "GET /plain HTTP/1.1\r\nHost: x\r\n\r\n", "X-Forwarded-For: 127.0.0.1"},
			} {
				resp, body := ask(tc.req)
				if body != tc.want {
					t.Errorf("%s: the server got\n%s\nwant\n%s", tc.name, body, tc.want)
				}
				var got []string
				for k := range resp.Header {
					got = append(got, k)
				}
				sort.Strings(got)
				want := "Content-Length Content-Type Date X-Cdn-Policy X-Cdn-Server X-Srv" // Content-Type: sniffed
				if g := strings.Join(got, " "); g != want {
					t.Errorf("%s: the client got headers %s, want %s", tc.name, g, want)
				}
				if s, p := resp.Header.Values("X-Cdn-Server"), resp.Header.Values("X-Cdn-Policy"); len(s) != 1 || s[0] != "a" || len(p) != 1 || p[0] != "network" {
					t.Errorf("%s: X-Cdn-Server %q, X-Cdn-Policy %q", tc.name, s, p)
				}
			}
			waitDecisions(t, rt, 5)
			if n := rt.sizes.get("/range", ""); n >= 0 {
				t.Errorf("the size of a ranged answer was kept: %d", n)
			}
			if n := rt.sizes.get("/plain", ""); n != int64(len("X-Forwarded-For: 127.0.0.1")) {
				t.Errorf("size kept for /plain: %d", n)
			}
		})
	}
}
