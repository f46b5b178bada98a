package router

import (
	"bytes"
	"net/http"
	"net/url"
	"strings"
)

// parseRequest parses the commonest request head (a GET or HEAD in
// HTTP/1.1, CRLF line ends, one valid Host header, nothing that asks for
// a body, a close or an upgrade) with the header lines this connection
// has seen before taking no allocation. It returns false for any other
// head, which http.ReadRequest then reads; head ends with its empty line.
func (c *leanConn) parseRequest(head []byte) (*http.Request, bool) {
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
	r := &http.Request{
		Method: method, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Body: http.NoBody, RequestURI: c.lastTarget,
	}
	u := *c.lastURL // the handler gets its own copy to change at will
	r.URL = &u
	h := make(http.Header, bytes.Count(rest, crlf))
	host := ""
	hosts := 0
	for len(rest) > 0 {
		var e *upLine
		if e, rest = c.lines.next(rest); e == nil {
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
		}
		e.addTo(h)
	}
	if hosts != 1 || !validHost(host) {
		return nil, false
	}
	r.Header = h
	r.Host = u.Host
	if r.Host == "" {
		r.Host = host
	}
	return r, true
}
