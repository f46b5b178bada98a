package router

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"
)

// upInternMax bounds a connection's cache of header lines.
const upInternMax = 128

// upLine is a header line seen before on the connection: its canonical
// key and a value slice shared, read-only, by every answer that carries
// the same line (nothing in the proxy changes a value slice in place).
type upLine struct {
	key  string
	vals []string
}

// upResp is an answer and its body in one allocation.
type upResp struct {
	http.Response
	body upBody
}

var errFallback = errors.New("answer needs the full parser")

// readResponse reads an answer to r from br. The commonest answer (HTTP/1.1,
// a Content-Length or no body, no Transfer-Encoding, a header block that
// fits the buffer) is parsed here, with the header lines this connection
// has seen before taking no allocation; any other is left unread for
// http.ReadResponse, which the caller then uses. The body, if any, is
// left in br: resp.Body reads it.
func (c *upConn) readResponse(r *http.Request) (*upResp, error) {
	br := c.br
	var head []byte
	for {
		buf, _ := br.Peek(br.Buffered())
		if n := headEnd(buf); n >= 0 {
			head = buf[:n]
			if !bytes.HasSuffix(head, crlf2) {
				return nil, errFallback // a bare LF: textproto's reading
			}
			break
		}
		if len(buf) == br.Size() {
			return nil, errFallback
		}
		if _, err := br.Peek(len(buf) + 1); err != nil {
			if len(buf) > 0 && err == io.EOF {
				return nil, io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
	ur, ok := c.parseHead(head, r)
	if !ok {
		return nil, errFallback
	}
	br.Discard(len(head))
	return ur, nil
}

var crlf2 = []byte("\r\n\r\n")

func (c *upConn) parseHead(head []byte, r *http.Request) (*upResp, bool) {
	i := bytes.Index(head, crlf)
	line := head[:i]
	rest := head[i+2 : len(head)-2] // header lines, each ending in CRLF
	// "HTTP/1.1 200 OK"
	if len(line) < 12 || string(line[:9]) != "HTTP/1.1 " || (len(line) > 12 && line[12] != ' ') {
		return nil, false
	}
	code := 0
	for _, d := range line[9:12] {
		if d < '0' || d > '9' {
			return nil, false
		}
		code = code*10 + int(d-'0')
	}
	if code < 200 {
		return nil, false // 1xx come before the answer proper
	}
	ur := &upResp{}
	resp := &ur.Response
	st := c.lines.intern(line[9:])
	if st == nil || st.vals != nil {
		return nil, false
	}
	resp.Status = st.key
	resp.StatusCode = code
	resp.Proto, resp.ProtoMajor, resp.ProtoMinor = "HTTP/1.1", 1, 1
	resp.Request = r
	resp.ContentLength = -1
	h := headerPool.Get().(http.Header)
	resp.Header = h
	for len(rest) > 0 {
		var e *upLine
		if e, rest = c.lines.next(rest); e == nil {
			return nil, false
		}
		e.addTo(h)
	}
	if _, ok := h["Transfer-Encoding"]; ok {
		return nil, false
	}
	if v, ok := h["Connection"]; ok {
		resp.Close = hasToken(v, "close")
	}
	if v, ok := h["Content-Length"]; ok {
		if len(v) != 1 {
			return nil, false
		}
		n, ok := parseContentLength(v[0])
		if !ok {
			return nil, false
		}
		resp.ContentLength = n
	}
	noBody := r.Method == http.MethodHead || code == 204 || code == 304
	switch {
	case noBody:
		if code == 204 || code == 304 {
			resp.ContentLength = 0
		}
		resp.Body = http.NoBody
	case resp.ContentLength < 0:
		return nil, false // read until close: left to net/http
	default:
		ur.body.lim = limitedBody{br: c.br, left: resp.ContentLength}
		resp.Body = &ur.body
	}
	return ur, true
}

var crlf = []byte("\r\n")

// next interns the first header line of rest, which ends with CRLF, and
// returns it with the lines after it. It returns nil for a line the lean
// parsers leave to net/http: empty, folded (obsolete line folding) or
// malformed.
func (lc *lineCache) next(rest []byte) (*upLine, []byte) {
	j := bytes.Index(rest, crlf)
	l := rest[:j]
	rest = rest[j+2:]
	if len(l) == 0 || l[0] == ' ' || l[0] == '\t' {
		return nil, rest
	}
	e := lc.intern(l)
	if e == nil || e.vals == nil {
		return nil, rest
	}
	return e, rest
}

// addTo adds the line's value to h, after any earlier line of its name.
func (e *upLine) addTo(h http.Header) {
	if prior, ok := h[e.key]; ok {
		h[e.key] = append(prior[:len(prior):len(prior)], e.vals[0])
	} else {
		h[e.key] = e.vals
	}
}

// lineCache maps header lines seen on one connection to their parsed
// form. It is the connection's own: no lock.
type lineCache map[string]*upLine

// intern returns the cached form of a header line ("Key: value") or a
// status text, nil for a malformed header line (which the full parser
// then judges).
func (lc *lineCache) intern(l []byte) *upLine {
	if e, ok := (*lc)[string(l)]; ok {
		return e
	}
	switch {
	case *lc == nil:
		*lc = make(lineCache)
	case len(*lc) >= upInternMax:
		clear(*lc) // the Date header alone changes every second
	}
	for _, b := range l {
		// CR and LF: textproto reads a bare LF as a line's end; other
		// control bytes: net/http's server refuses them in a value.
		if (b < ' ' && b != '\t') || b == 0x7f {
			return nil
		}
	}
	var e *upLine
	colon := bytes.IndexByte(l, ':')
	if colon < 0 {
		e = &upLine{key: string(l)}
	} else {
		k := l[:colon]
		if !tokenBytes(k) {
			return nil
		}
		v := strings.Trim(string(l[colon+1:]), " \t")
		e = &upLine{key: http.CanonicalHeaderKey(string(k)), vals: []string{v}}
	}
	(*lc)[string(l)] = e
	return e
}

// tokenBytes reports whether k is an RFC 9110 token, as a header name
// must be.
func tokenBytes(k []byte) bool {
	if len(k) == 0 {
		return false
	}
	for _, c := range k {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// limitedBody reads a body of known length from a connection's reader.
type limitedBody struct {
	br   *bufio.Reader
	left int64
}

func (b *limitedBody) read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.br.Read(p)
	b.left -= int64(n)
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	if b.left == 0 && err == nil {
		err = io.EOF
	}
	return n, err
}

// writeTo passes the body on straight from the connection's read buffer,
// with no copy in between; errBodyCopy marks a failed read. Its length is
// known, so there is nothing to flush early.
func (b *upBody) writeTo(w io.Writer) (int64, error) {
	br := b.lim.br
	var n int64
	for b.lim.left > 0 {
		if br.Buffered() == 0 {
			if _, err := br.Peek(1); err != nil {
				return n, errBodyCopy
			}
		}
		p, _ := br.Peek(int(min(int64(br.Buffered()), b.lim.left)))
		nw, err := w.Write(p)
		br.Discard(nw)
		n += int64(nw)
		b.lim.left -= int64(nw)
		if err != nil {
			return n, err
		}
	}
	b.eof = true
	return n, nil
}
