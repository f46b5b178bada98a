package router

import (
	"bufio"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// sameHeader compares two header maps, the order of each key's values
// included.
func sameHeader(a, b http.Header) bool {
	return maps.EqualFunc(a, b, func(x, y []string) bool { return slices.Equal(x, y) })
}

// FuzzLeanRequest checks the lean front's line path against the map path
// the proxy takes otherwise: for a request head both read, the lines
// kept to send must be the header the map path would send (net/http's
// parse, less Host and the hop-by-hop headers, X-Forwarded-For
// appended), whether the head was parsed or found equal to the last one.
func FuzzLeanRequest(f *testing.F) {
	f.Add("User-Agent: curl/8\r\nAccept: */*")
	f.Add("Connection: keep-alive\r\nKeep-Alive: 300\r\nX-Forwarded-For: 10.0.0.1\r\nx-forwarded-for:  10.0.0.2 ")
	f.Add("Connection: X-A\r\nX-A: 1\r\nRange: bytes=0-1\r\nTe: trailers\r\nProxy-Authorization: x")
	f.Add("Accept: a\r\nAccept: b\r\nX-Forwarded-For:\r\nCookie: c=d")
	f.Fuzz(func(t *testing.T, lines string) {
		head := "GET /v1/objects/k?q=1 HTTP/1.1\r\nHost: h\r\n"
		if lines != "" {
			head += lines + "\r\n"
		}
		head += "\r\n"
		want, err := http.ReadRequest(bufio.NewReader(strings.NewReader(head)))
		if err != nil {
			return
		}
		c := &leanConn{s: &Frontend{rt: &Router{}}, remote: "192.0.2.1:5", remoteIP: "192.0.2.1"}
		for range 2 { // the second time, the head is the last one
			r, ok := c.parseRequest([]byte(head))
			if !ok || !c.lean {
				return
			}
			h := want.Header.Clone()
			delete(h, "Host")
			stripHop(h)
			ip := "192.0.2.1"
			if prior := h["X-Forwarded-For"]; len(prior) > 0 {
				ip = strings.Join(prior, ", ") + ", " + ip
			}
			h["X-Forwarded-For"] = []string{ip}
			got := headerFromWire(c.lr.fwd)
			if !sameHeader(got, h) {
				t.Fatalf("head %q: lines give %q, the map path %q", head, got, h)
			}
			if _, ua := h["User-Agent"]; c.lr.ua != ua {
				t.Fatalf("head %q: ua %v", head, c.lr.ua)
			}
			if rng := h.Get("Range") != ""; c.lr.rng != rng {
				t.Fatalf("head %q: rng %v", head, c.lr.rng)
			}
			if r.Method != "GET" || r.URL.Path != "/v1/objects/k" || r.URL.RawQuery != "q=1" || r.Host != "h" || r.Header != nil {
				t.Fatalf("head %q: request %+v", head, r)
			}
		}
	})
}

// FuzzLeanAnswer checks the lines the lean client keeps of an answer
// against the map it makes otherwise, after the proxy's stripHop: the
// same header (less X-Cdn-*, which the proxy sets itself), length and
// close, whether the head was parsed or found equal to the last one.
func FuzzLeanAnswer(f *testing.F) {
	f.Add("Content-Length: 3\r\nContent-Type: text/plain\r\nDate: Wed, 25 Nov 2026 19:09:34 GMT")
	f.Add("Connection: keep-alive\r\nKeep-Alive: timeout=5\r\nContent-Length: 0\r\nX-Cdn-Server: s")
	f.Add("Connection: X-Gone, close\r\nX-Gone: 1\r\nVary: a\r\nVary: b\r\nContent-Length: 1")
	f.Add("content-length: 7\r\netag: \"x\"\r\nProxy-Authenticate: Basic")
	f.Fuzz(func(t *testing.T, lines string) {
		head := "HTTP/1.1 200 OK\r\n"
		if lines != "" {
			head += lines + "\r\n"
		}
		head += "\r\n"
		req := &http.Request{Method: "GET"}
		var mc upConn
		mr, ok := mc.parseHead([]byte(head), req, false)
		if !ok {
			return
		}
		want := mr.Response.Header.Clone()
		stripHop(want)
		delete(want, "X-Cdn-Server")
		delete(want, "X-Cdn-Policy")
		var wc upConn
		for range 2 { // the second time, the head is the last one
			wr, ok := wc.parseHead([]byte(head), req, true)
			if !ok {
				t.Fatalf("head %q: the line path gave up where the map path did not", head)
			}
			if !wr.body.wire.ok {
				return // a Connection header names others: the map path
			}
			got := headerFromWire(wr.body.wire.lines)
			if !sameHeader(got, want) {
				t.Fatalf("head %q: lines give %q, the map path %q", head, got, want)
			}
			w := &wr.body.wire
			_, date := want["Date"]
			_, ct := want["Content-Type"]
			cl := int64(-1)
			if _, ok := mr.Response.Header["Content-Length"]; ok {
				cl = mr.Response.ContentLength
			}
			if wr.Response.ContentLength != mr.Response.ContentLength || wr.Response.Close != mr.Response.Close ||
				w.date != date || w.ctype != ct || w.cl != cl || wr.Response.Header != nil {
				t.Fatalf("head %q: lines %+v, map length %d close %v", head, w, mr.Response.ContentLength, mr.Response.Close)
			}
		}
	})
}
