package router

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"
)

// frontHandler answers by path, covering the ways a handler frames a body.
func frontHandler(w http.ResponseWriter, r *http.Request) {
	big := bytes.Repeat([]byte("0123456789abcdef"), 8<<10) // 128 KiB
	switch r.URL.Path {
	case "/small":
		w.Write([]byte("<html>hello</html>"))
	case "/typed":
		w.Header().Set("Content-Type", "text/x-test")
		w.Write([]byte("hi"))
	case "/big":
		w.Write(big)
	case "/big-cl":
		w.Header().Set("Content-Length", fmt.Sprint(len(big)))
		w.Write(big[:1000])
		w.Write(big[1000:])
	case "/big-cl-once":
		// The proxy's commonest answer: a length, then the body at once.
		w.Header().Set("Content-Length", fmt.Sprint(len(big)))
		w.Write(big)
		w.Write(nil)
	case "/flush":
		w.Write([]byte("part one,"))
		w.(http.Flusher).Flush()
		w.Write([]byte("part two"))
	case "/empty":
	case "/nocontent":
		w.WriteHeader(http.StatusNoContent)
	case "/notmodified":
		w.Header().Set("Etag", `"x"`)
		w.WriteHeader(http.StatusNotModified)
	case "/teapot":
		w.WriteHeader(http.StatusTeapot)
		w.Write([]byte("short and stout"))
	case "/odd":
		w.WriteHeader(599)
	case "/echo":
		b, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%s %s %s body=%q xff=%q", r.Method, r.URL.Path, r.Proto, b, fmt.Sprint(r.RemoteAddr != ""))
	case "/host":
		fmt.Fprintf(w, "host=%q header=%q uri=%q url=%q", r.Host, r.Header.Get("Host"), r.RequestURI, r.URL)
	case "/headers":
		keys := make([]string, 0, len(r.Header))
		for k := range r.Header {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(w, "%s=%q\n", k, r.Header[k])
		}
	case "/many":
		for i := 0; i < 100; i++ {
			w.Write(big[:1500])
		}
	default:
		http.NotFound(w, r)
	}
}

func startTestFrontend(t *testing.T, h http.Handler) (*Frontend, string) {
	t.Helper()
	ln := listenLocal(t)
	fe := NewFrontend(h, nil)
	done := make(chan error, 1)
	go func() { done <- fe.Serve(ln) }()
	t.Cleanup(func() {
		fe.Close()
		if err := <-done; err != http.ErrServerClosed {
			t.Errorf("Serve returned %v, want ErrServerClosed", err)
		}
	})
	return fe, ln.Addr().String()
}

// TestFrontend_SameAsNetHTTP asks the Frontend and net/http's server the
// same requests and compares the answers.
func TestFrontend_SameAsNetHTTP(t *testing.T) {
	h := http.HandlerFunc(frontHandler)
	_, addr := startTestFrontend(t, h)
	std := httptest.NewServer(h)
	defer std.Close()
	paths := []string{"/small", "/typed", "/big", "/big-cl", "/big-cl-once", "/flush", "/empty", "/nocontent",
		"/notmodified", "/teapot", "/odd", "/echo", "/many", "/missing", "/host", "/headers", "/headers?a=b"}
	c := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	defer c.CloseIdleConnections()
	for _, method := range []string{"GET", "HEAD", "POST"} {
		for _, p := range paths {
			t.Run(method+p, func(t *testing.T) {
				want := strings.ReplaceAll(doReq(t, c, method, std.URL+p), std.Listener.Addr().String(), "ADDR")
				got := strings.ReplaceAll(doReq(t, c, method, "http://"+addr+p), addr, "ADDR")
				if got != want {
					t.Fatalf("frontend answered\n%s\nnet/http answered\n%s", got, want)
				}
			})
		}
	}
}

// doReq summarises an answer: status, framing, the headers a handler or
// the server sets, and the body.
func doReq(t *testing.T, c *http.Client, method, url string) string {
	t.Helper()
	var body io.Reader
	if method == "POST" {
		body = strings.NewReader("payload")
	}
	req, _ := http.NewRequest(method, url, body)
	req.Header["X-Multi"] = []string{"a", "b"}
	req.Header.Set("Accept", "*/*")
	req.Header.Set("Connection", "keep-alive")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read: %v", method, url, err)
	}
	if resp.Header.Get("Date") == "" {
		t.Errorf("%s %s: no Date header", method, url)
	}
	return fmt.Sprintf("%s len=%d te=%v ct=%q cl=%q etag=%q body=%q", resp.Status, resp.ContentLength,
		resp.TransferEncoding, resp.Header.Get("Content-Type"), resp.Header.Get("Content-Length"),
		resp.Header.Get("Etag"), b)
}

// TestFrontend_Raw sends requests byte for byte: pipelined, some taken
// by the lean loop and some passed to net/http on the same connection.
func TestFrontend_Raw(t *testing.T) {
	_, addr := startTestFrontend(t, http.HandlerFunc(frontHandler))
	for _, tc := range []struct {
		name string
		in   string
		want []string // status and body of each answer, in order
	}{
		{"Pipelined", "GET /small HTTP/1.1\r\nHost: x\r\n\r\nHEAD /small HTTP/1.1\r\nHost: x\r\n\r\nGET /typed HTTP/1.1\r\nHost: x\r\n\r\n",
			[]string{"200 <html>hello</html>", "200 ", "200 hi"}},
		{"ThenNetHTTP", "GET /small HTTP/1.1\r\nHost: x\r\n\r\nPOST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcGET /typed HTTP/1.1\r\nHost: x\r\n\r\n",
			[]string{"200 <html>hello</html>", `200 POST /echo HTTP/1.1 body="abc" xff="true"`, "200 hi"}},
		{"BareLF", "GET /echo HTTP/1.1\nHost: x\n\nGET /typed HTTP/1.1\nHost: x\n\n",
			[]string{`200 GET /echo HTTP/1.1 body="" xff="true"`, "200 hi"}},
		{"HTTP10", "GET /echo HTTP/1.0\r\n\r\n", []string{`200 GET /echo HTTP/1.0 body="" xff="true"`}},
		{"NoHost", "GET /echo HTTP/1.1\r\n\r\n", []string{"400 400 Bad Request: missing required Host header"}},
		{"BadHost", "GET /echo HTTP/1.1\r\nHost: a b\r\n\r\n", []string{"400 400 Bad Request: malformed Host header"}},
		{"Malformed", "GET\r\n\r\n", []string{"400 400 Bad Request"}},
		{"BigHead", "GET /echo HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("b", 3*leanHeadMax) + "\r\n\r\nGET /typed HTTP/1.1\r\nHost: x\r\n\r\n",
			[]string{`200 GET /echo HTTP/1.1 body="" xff="true"`, "200 hi"}},
		{"SameURLTwice", "GET /host?x=1 HTTP/1.1\r\nHost: x\r\n\r\nGET /host?x=1 HTTP/1.1\r\nHost: y\r\n\r\n",
			[]string{`200 host="x" header="" uri="/host?x=1" url="/host?x=1"`, `200 host="y" header="" uri="/host?x=1" url="/host?x=1"`}},
		{"Absolute", "GET http://a.example/host HTTP/1.1\r\nHost: b\r\n\r\n",
			[]string{`200 host="a.example" header="" uri="http://a.example/host" url="http://a.example/host"`}},
		{"AbsoluteNoHost", "GET http://a.example/host HTTP/1.1\r\n\r\n", []string{"400 400 Bad Request: missing required Host header"}},
		{"TwoHosts", "GET /host HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", []string{"400 400 Bad Request"}},
		{"ControlByte", "GET /host HTTP/1.1\r\nHost: a\r\nX-A: a\x01b\r\n\r\n", []string{"400 400 Bad Request"}},
		{"Pragma", "GET /headers HTTP/1.1\r\nHost: a\r\nPragma: no-cache\r\n\r\n",
			[]string{`200 Cache-Control=["no-cache"]` + "\n" + `Pragma=["no-cache"]`}},
		{"Folded", "GET /headers HTTP/1.1\r\nHost: a\r\nX-A: a\r\n b\r\n\r\n", []string{`200 X-A=["a b"]`}},
		{"Close", "GET /small HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET /small HTTP/1.1\r\nHost: x\r\n\r\n",
			[]string{"200 <html>hello</html>"}},
		{"Admin", "GET /_proxy/x HTTP/1.1\r\nHost: x\r\n\r\n", []string{"404 404 page not found"}},
		{"Chunked", "GET /big HTTP/1.1\r\nHost: x\r\n\r\n", []string{"200 " + strings.Repeat("0123456789abcdef", 8<<10)}},
		{"Expect", "GET /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhi",
			[]string{`200 GET /echo HTTP/1.1 body="hi" xff="true"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nc, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			nc.SetDeadline(time.Now().Add(10 * time.Second))
			if _, err := io.WriteString(nc, tc.in); err != nil {
				t.Fatal(err)
			}
			br := bufio.NewReader(nc)
			for i, want := range tc.want {
				method := "GET"
				if strings.Contains(tc.in, "HEAD") && i == 1 {
					method = "HEAD"
				}
				resp, err := http.ReadResponse(br, &http.Request{Method: method})
				for err == nil && resp.StatusCode < 200 {
					resp, err = http.ReadResponse(br, &http.Request{Method: method})
				}
				if err != nil {
					t.Fatalf("answer %d: %v", i, err)
				}
				b, err := io.ReadAll(resp.Body)
				if err != nil {
					t.Fatalf("answer %d: body: %v", i, err)
				}
				if got := fmt.Sprintf("%d %s", resp.StatusCode, strings.TrimSpace(string(b))); got != want {
					t.Fatalf("answer %d = %.200q, want %.200q", i, got, want)
				}
			}
		})
	}
}

// TestFrontend_Abort checks that a handler that gives up mid-body cuts
// the connection, so a client never takes a short body for a whole one.
func TestFrontend_Abort(t *testing.T) {
	_, addr := startTestFrontend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100000")
		w.Write(make([]byte, 5000))
		panic(http.ErrAbortHandler)
	}))
	resp, err := http.Get("http://" + addr + "/x")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if n, err := io.Copy(io.Discard, resp.Body); err == nil {
		t.Fatalf("read %d bytes with no error, want an unexpected EOF", n)
	}
}

// TestFrontend_Shutdown checks that Shutdown closes an idle keep-alive
// connection, lets a request in flight finish, and returns.
func TestFrontend_Shutdown(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{}, 1)
	ln := listenLocal(t)
	fe := NewFrontend(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			started <- struct{}{}
			<-release
		}
		w.Write([]byte("done"))
	}), nil)
	go fe.Serve(ln)
	url := "http://" + ln.Addr().String()

	idle, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	io.WriteString(idle, "GET /fast HTTP/1.1\r\nHost: x\r\n\r\n")
	br := bufio.NewReader(idle)
	if resp, err := http.ReadResponse(br, nil); err != nil || resp.StatusCode != 200 {
		t.Fatalf("first answer: %v", err)
	} else {
		io.ReadAll(resp.Body)
	}

	slow := make(chan string, 1)
	go func() {
		resp, err := http.Get(url + "/slow")
		if err != nil {
			slow <- err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		slow <- string(b)
	}()
	<-started
	shut := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		shut <- fe.Shutdown(ctx)
	}()
	// The idle connection is closed: reading it ends.
	idle.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := br.ReadByte(); err != io.EOF {
		t.Fatalf("idle connection read: %v, want EOF", err)
	}
	close(release)
	if got := <-slow; got != "done" {
		t.Fatalf("request in flight got %q, want done", got)
	}
	if err := <-shut; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
}

// TestFrontend_HeaderTimeout checks that a connection that sends no
// request, or half of one, is closed after ReadHeaderTimeout, not left
// waiting for the idle timeout.
func TestFrontend_HeaderTimeout(t *testing.T) {
	ln := listenLocal(t)
	fe := NewFrontend(http.HandlerFunc(frontHandler), nil)
	fe.hs.ReadHeaderTimeout = 50 * time.Millisecond
	fe.hs.IdleTimeout = time.Hour
	go fe.Serve(ln)
	t.Cleanup(func() { fe.Close() })
	for _, sent := range []string{"", "GET /small HTTP/1.1\r\nHost: x\r\n"} {
		nc, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(nc, sent)
		nc.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := nc.Read(make([]byte, 1)); err != io.EOF {
			t.Errorf("after sending %q: read %v, want EOF (closed by the server)", sent, err)
		}
		nc.Close()
	}
}
