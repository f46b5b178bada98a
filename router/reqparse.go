package router

import (
	"bytes"
	"net/http"
	"net/url"
	"strings"
)

// leanReq is a request head as the lean front read it for the Router: in
// place of a header map, the lines to pass on to a server, ready to
// write, and the few facts the proxy needs of the others.
type leanReq struct {
	// fwd holds the header lines to send, each "Key: value\r\n": neither
	// Host nor the hop-by-hop ones, and X-Forwarded-For last, with the
	// client's address appended.
	fwd   []byte
	ua    bool    // the client sent a User-Agent
	rng   bool    // the client sent a Range (a non-empty first one)
	built bool    // r.Header was filled from fwd, and is what counts now
	rk    ranking // the connection's own, for one request at a time
}

// header fills r.Header from fwd, for a server the lean client does not
// serve; from then on r.Header is the request's header.
func (lr *leanReq) header(r *http.Request) {
	if lr.built {
		return
	}
	lr.built = true
	r.Header = headerFromWire(lr.fwd)
}

// parseRequest parses the commonest request head (a GET or HEAD in
// HTTP/1.1, CRLF line ends, one valid Host header, nothing that asks for
// a body, a close or an upgrade) with the header lines this connection
// has seen before taking no allocation. It returns false for any other
// head, which http.ReadRequest then reads; head ends with its empty line.
// For the Router (c.s.rt set), a request whose Connection header names
// no other header is read into c.lr rather than a header map (c.lean).
func (c *leanConn) parseRequest(head []byte) (*http.Request, bool) {
	c.lean = false
	if c.lastLean && string(head) == string(c.lastHead) {
		// The same head as the last lean request, as a client asking
		// for the same object sends: c.lr holds its lines already.
		c.lr.built = false
		return c.leanRequest(c.lastMethod, c.lastHost), true
	}
	c.lastLean = false
	if !bytes.HasSuffix(head, crlf2) {
		return nil, false
	}
	i := bytes.Index(head, crlf)
	line := head[:i]
	rest := head[i+2 : len(head)-2]
	var method string
	switch {
	case bytes.HasPrefix(line, []byte("GET ")):
		method, line = http.MethodGet, line[4:]
	case bytes.HasPrefix(line, []byte("HEAD ")):
		method, line = http.MethodHead, line[5:]
	default:
		return nil, false
	}
	sp := bytes.IndexByte(line, ' ')
	if sp <= 0 || string(line[sp+1:]) != "HTTP/1.1" {
		return nil, false
	}
	target := line[:sp]
	if target[0] != '/' && !bytes.HasPrefix(target, []byte("http://")) {
		return nil, false
	}
	if c.lastURL == nil || string(target) != c.lastTarget {
		u, err := url.ParseRequestURI(string(target))
		if err != nil {
			return nil, false
		}
		c.lastTarget, c.lastURL = string(target), u
	}
	if strings.HasPrefix(c.lastURL.Path, "/_proxy/") {
		return nil, false // the proxy's own API: net/http serves it
	}
	host := ""
	hosts := 0
	lean := c.s.rt != nil
	ents := c.ents[:0]
	defer func() { clear(ents) }()
	for k := 0; len(rest) > 0; k++ {
		var e *upLine
		if e, rest = c.lines.nextAt(rest, k); e == nil {
			return nil, false
		}
		switch e.key {
		case "Host":
			host = e.vals[0]
			hosts++
			continue // net/http's server takes Host out of the map too
		case "Content-Length", "Transfer-Encoding", "Expect", "Upgrade", "Pragma", "Trailer":
			// A body, or something net/http's reader rewrites.
			return nil, false
		case "Connection":
			if hasToken(e.vals, "close") {
				return nil, false
			}
			if namesHeaders(e.vals[0]) {
				lean = false // stripHop drops the named ones from a map
			}
		}
		ents = append(ents, e)
	}
	c.ents = ents
	if hosts != 1 || !validHost(host) {
		return nil, false
	}
	if lean {
		c.fillLean(ents)
		c.lastHead = append(c.lastHead[:0], head...)
		c.lastLean, c.lastMethod, c.lastHost = true, method, host
		return c.leanRequest(method, host), true
	}
	r := &http.Request{}
	u := *c.lastURL // the handler gets its own copy to change at will
	r.URL = &u
	h := make(http.Header, len(ents))
	for _, e := range ents {
		e.addTo(h)
	}
	r.Header = h
	c.fillRequest(r, method, host)
	return r, true
}

// leanRequest is the request whose lines c.lr holds. The Router keeps
// neither the request nor its URL past the answer: the connection's own
// are reused.
func (c *leanConn) leanRequest(method, host string) *http.Request {
	r := &c.req
	*r = http.Request{}
	c.url = *c.lastURL
	r.URL = &c.url
	c.lean = true
	c.fillRequest(r, method, host)
	return r
}

func (c *leanConn) fillRequest(r *http.Request, method, host string) {
	r.Method, r.Proto, r.ProtoMajor, r.ProtoMinor = method, "HTTP/1.1", 1, 1
	r.Body, r.RequestURI = http.NoBody, c.lastTarget
	r.RemoteAddr = c.remote
	r.Host = r.URL.Host
	if r.Host == "" {
		r.Host = host
	}
}

// fillLean puts the request's header lines into c.lr as the proxy sends
// them on: what stripHop and the X-Forwarded-For step do to a map.
func (c *leanConn) fillLean(ents []*upLine) {
	lr := &c.lr
	fwd := lr.fwd[:0]
	lr.ua, lr.rng, lr.built = false, false, false
	ranges := 0
	xff, nx := c.xff[:0], 0
	for _, e := range ents {
		switch {
		case hopHeader(e.key):
			continue
		case e.key == "X-Forwarded-For" && c.remoteIP != "":
			if nx > 0 {
				xff = append(xff, ", "...)
			}
			xff = append(xff, e.vals[0]...)
			nx++
			continue
		case e.key == "User-Agent":
			lr.ua = true
		case e.key == "Range":
			// As r.Header.Get("Range") != "": the first line counts.
			lr.rng = lr.rng || ranges == 0 && e.vals[0] != ""
			ranges++
		}
		fwd = append(fwd, e.wire...)
	}
	if c.remoteIP != "" {
		fwd = append(fwd, "X-Forwarded-For: "...)
		if nx > 0 {
			fwd = append(append(fwd, xff...), ", "...)
		}
		fwd = append(append(fwd, c.remoteIP...), "\r\n"...)
	}
	c.xff = xff
	lr.fwd = fwd
}
