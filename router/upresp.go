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
	line string // the line as it came
	key  string
	vals []string
	wire []byte // "Key: value\r\n", as the lean paths pass the line on
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
func (c *upConn) readResponse(r *http.Request, wire bool) (*upResp, error) {
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
	ur, ok := c.parseHead(head, r, wire)
	if !ok {
		return nil, errFallback
	}
	br.Discard(len(head))
	return ur, nil
}

var crlf2 = []byte("\r\n\r\n")

// parseHead parses an answer's head. With wire set, the header lines are
// kept as the lines to pass on (resp.Body's wire; resp.Header stays nil)
// rather than put in a map, unless a Connection header names others.
func (c *upConn) parseHead(head []byte, r *http.Request, wire bool) (*upResp, bool) {
	if wire && c.last.ok && string(head) == string(c.last.head) {
		// The same head as the last answer on this connection, as a
		// server sends for the same object within a second: its lines
		// are still in c.wbuf.
		ur := c.newResp()
		resp := &ur.Response
		resp.Status, resp.StatusCode, resp.ContentLength, resp.Close = c.last.status, c.last.code, c.last.length, c.last.close
		ur.body.wire = c.last.wire
		return c.finishHead(ur, r), true
	}
	c.last.ok = false
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
	ur := c.newResp()
	resp := &ur.Response
	st := c.lines.intern(line[9:])
	if st == nil || st.vals != nil {
		return nil, false
	}
	resp.Status = st.key
	resp.StatusCode = code
	resp.ContentLength = -1
	ents := c.ents[:0]
	for k := 0; len(rest) > 0; k++ {
		var e *upLine
		if e, rest = c.lines.nextAt(rest, k); e == nil {
			return nil, false
		}
		ents = append(ents, e)
	}
	c.ents = ents
	lengths := 0
	for _, e := range ents {
		switch e.key {
		case "Transfer-Encoding":
			return nil, false
		case "Connection":
			resp.Close = resp.Close || hasToken(e.vals, "close")
			if wire && namesHeaders(e.vals[0]) {
				wire = false // stripHop takes the named ones out of a map
			}
		case "Content-Length":
			lengths++
			n, ok := parseContentLength(e.vals[0])
			if !ok || lengths > 1 {
				return nil, false
			}
			resp.ContentLength = n
		}
	}
	if wire {
		w := &ur.body.wire
		w.ok, w.cl = true, -1
		if lengths > 0 {
			w.cl = resp.ContentLength
		}
		b := c.wbuf[:0]
		for _, e := range ents {
			switch {
			case hopHeader(e.key), e.key == "X-Cdn-Server", e.key == "X-Cdn-Policy":
				continue // the proxy sets its own X-Cdn-* in their place
			case e.key == "Date":
				w.date = true
			case e.key == "Content-Type":
				w.ctype = true
			}
			b = append(b, e.wire...)
		}
		c.wbuf = b
		w.lines = b
		c.last.head = append(c.last.head[:0], head...)
		c.last.status, c.last.code, c.last.length, c.last.close = resp.Status, code, resp.ContentLength, resp.Close
		c.last.wire, c.last.ok = *w, true
	} else {
		h := headerPool.Get().(http.Header)
		for _, e := range ents {
			e.addTo(h)
		}
		resp.Header = h
	}
	clear(ents) // the cache may drop these lines: do not keep them alive
	if resp.ContentLength < 0 && r.Method != http.MethodHead && code != 204 && code != 304 {
		c.last.ok = false
		return nil, false // read until close: left to net/http
	}
	return c.finishHead(ur, r), true
}

// finishHead sets the answer's body from its status and length.
func (c *upConn) finishHead(ur *upResp, r *http.Request) *upResp {
	resp := &ur.Response
	resp.Proto, resp.ProtoMajor, resp.ProtoMinor = "HTTP/1.1", 1, 1
	resp.Request = r
	code := resp.StatusCode
	if r.Method == http.MethodHead || code == 204 || code == 304 {
		if code == 204 || code == 304 {
			resp.ContentLength = 0
		}
		resp.Body = http.NoBody
	} else {
		ur.body.lim = limitedBody{br: c.br, left: resp.ContentLength}
		resp.Body = &ur.body
	}
	return ur
}

// newResp is the connection's answer, cleared. A connection carries one
// answer at a time and goes back to the pool only when that answer's
// body is closed, after which the proxy does not look at the answer
// again: the same one serves each time, with no allocation.
func (c *upConn) newResp() *upResp {
	c.ur = upResp{}
	return &c.ur
}

// namesHeaders reports whether a Connection value names a header, which
// a proxy must then drop, rather than only keep-alive or close.
func namesHeaders(v string) bool {
	for f := range strings.SplitSeq(v, ",") {
		f = strings.TrimSpace(f)
		if f != "" && !strings.EqualFold(f, "keep-alive") && !strings.EqualFold(f, "close") {
			return true
		}
	}
	return false
}

// wireHead is an answer's header block kept as the lines to pass on, in
// place of a header map: the lean front writes them out as they are.
type wireHead struct {
	ok    bool
	lines []byte // "Key: value\r\n" lines, the hop-by-hop ones left out
	cl    int64  // the Content-Length line's value, -1 if none
	date  bool   // a Date line is among them
	ctype bool   // a Content-Type line is among them
}

// header is the map form of lines, for a writer that needs one.
func headerFromWire(lines []byte) http.Header {
	h := make(http.Header)
	for len(lines) > 0 {
		j := bytes.Index(lines, crlf)
		l := lines[:j]
		lines = lines[j+2:]
		k, v, _ := bytes.Cut(l, []byte(": "))
		h[string(k)] = append(h[string(k)], string(v))
	}
	return h
}

var crlf = []byte("\r\n")

// next interns the first header line of rest, which ends with CRLF, and
// returns it with the lines after it. It returns nil for a line the lean
// parsers leave to net/http: empty, folded (obsolete line folding) or
// malformed.
func (lc *lineCache) next(rest []byte) (*upLine, []byte) {
	return lc.nextAt(rest, -1)
}

// nextAt is next for the line at index k of its header block: a line
// equal to the one at the same place in the block before needs no look-up
// (a client or server sends the same lines in the same order each time).
func (lc *lineCache) nextAt(rest []byte, k int) (*upLine, []byte) {
	j := bytes.Index(rest, crlf)
	l := rest[:j]
	rest = rest[j+2:]
	if k >= 0 && k < len(lc.seq) {
		if e := lc.seq[k]; e != nil && e.line == string(l) {
			return e, rest
		}
	}
	if len(l) == 0 || l[0] == ' ' || l[0] == '\t' {
		return nil, rest
	}
	e := lc.intern(l)
	if e == nil || e.vals == nil {
		return nil, rest
	}
	if k >= 0 && k < upSeqMax {
		for len(lc.seq) <= k {
			lc.seq = append(lc.seq, nil)
		}
		lc.seq[k] = e
	}
	return e, rest
}

// upSeqMax bounds how many lines of a header block nextAt remembers by
// place.
const upSeqMax = 32

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
type lineCache struct {
	m   map[string]*upLine
	seq []*upLine // the lines of the last header block, by place
}

// intern returns the cached form of a header line ("Key: value") or a
// status text, nil for a malformed header line (which the full parser
// then judges).
func (lc *lineCache) intern(l []byte) *upLine {
	if e, ok := lc.m[string(l)]; ok {
		return e
	}
	switch {
	case lc.m == nil:
		lc.m = make(map[string]*upLine)
	case len(lc.m) >= upInternMax:
		clear(lc.m) // the Date header alone changes every second
	}
	for _, b := range l {
		// CR and LF: textproto reads a bare LF as a line's end; other
		// control bytes: net/http's server refuses them in a value.
		if (b < ' ' && b != '\t') || b == 0x7f {
			return nil
		}
	}
	line := string(l)
	e := &upLine{line: line}
	colon := bytes.IndexByte(l, ':')
	if colon < 0 {
		e.key = line
	} else {
		k := l[:colon]
		if !tokenBytes(k) {
			return nil
		}
		v := strings.Trim(line[colon+1:], " \t")
		e.key = http.CanonicalHeaderKey(string(k))
		e.vals = []string{v}
		e.wire = append(append(append(append(make([]byte, 0, len(e.key)+len(v)+4), e.key...), ": "...), v...), "\r\n"...)
	}
	lc.m[line] = e
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
