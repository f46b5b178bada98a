package server

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"metacdn/wire"
)

// TestGet_MatchesServeContent checks that a node answers GET and HEAD
// exactly as http.ServeContent does over the same bytes, for sizes around
// storage's read window and chunk size, with and without Range and
// preconditions: the node's fast path for plain GETs must not change a
// header. Errors (416, 412) are the one difference by design: the node
// writes ServeContent's text as a JSON error (asJSONError).
func TestGet_MatchesServeContent(t *testing.T) {
	n := startNode(t, "warn")
	c := &http.Client{}
	for _, size := range []int{0, 1, 10 << 10, 1 << 20, 1<<20 + 1, 4<<20 + 3} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			content := make([]byte, size)
			rand.Read(content)
			url := n.URL() + fmt.Sprintf("/v1/objects/eq/%d.bin", size)
			req, _ := http.NewRequest(http.MethodPut, url, bytes.NewReader(content))
			req.Header.Set("Content-Type", "application/x-test")
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var obj wire.Object
			err = json.NewDecoder(resp.Body).Decode(&obj)
			resp.Body.Close()
			if err != nil || resp.StatusCode != http.StatusCreated {
				t.Fatalf("PUT: %s, %v", resp.Status, err)
			}
			modified := time.Unix(0, obj.ModifiedUnixNano)
			etag := `"` + obj.Sha256 + `"`
			ref := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				h := w.Header()
				h.Set("ETag", etag)
				h.Set("Content-Type", "application/x-test")
				h.Set("Accept-Ranges", "bytes")
				http.ServeContent(w, r, "", modified, bytes.NewReader(content))
			}))
			defer ref.Close()

			past := modified.Add(-time.Hour).UTC().Format(http.TimeFormat)
			future := modified.Add(time.Hour).UTC().Format(http.TimeFormat)
			for _, tc := range []struct {
				name   string
				method string
				header []string
			}{
				{"Get", "GET", nil},
				{"Head", "HEAD", nil},
				{"EmptyRange", "GET", []string{"Range", ""}},
				{"RangeFirst", "GET", []string{"Range", "bytes=0-0"}},
				{"RangeOpen", "GET", []string{"Range", "bytes=100-"}},
				{"RangeSuffix", "GET", []string{"Range", "bytes=-5"}},
				{"RangePastEnd", "GET", []string{"Range", fmt.Sprintf("bytes=%d-", size+10)}},
				{"RangeHead", "HEAD", []string{"Range", "bytes=0-9"}},
				{"IfRangeMatch", "GET", []string{"Range", "bytes=1-2", "If-Range", etag}},
				{"IfRangeOther", "GET", []string{"Range", "bytes=1-2", "If-Range", `"x"`}},
				{"IfNoneMatch", "GET", []string{"If-None-Match", etag}},
				{"IfNoneMatchOther", "GET", []string{"If-None-Match", `"x"`}},
				{"IfNoneMatchHead", "HEAD", []string{"If-None-Match", etag}},
				{"IfModifiedSinceFuture", "GET", []string{"If-Modified-Since", future}},
				{"IfModifiedSincePast", "GET", []string{"If-Modified-Since", past}},
				{"IfMatchOther", "GET", []string{"If-Match", `"x"`}},
				{"IfMatch", "GET", []string{"If-Match", etag}},
				{"IfUnmodifiedSincePast", "GET", []string{"If-Unmodified-Since", past}},
			} {
				t.Run(tc.name, func(t *testing.T) {
					got := fetch(t, c, tc.method, url, tc.header)
					want := fetch(t, c, tc.method, ref.URL, tc.header)
					if got.status != want.status {
						t.Fatalf("status=%d, want %d", got.status, want.status)
					}
					if want.status >= 400 {
						want = asJSONError(t, want)
					}
					if !reflect.DeepEqual(got.header, want.header) {
						t.Fatalf("header=%v\nwant %v", got.header, want.header)
					}
					if !bytes.Equal(got.body, want.body) {
						t.Fatalf("body: %d bytes, want %d", len(got.body), len(want.body))
					}
				})
			}
		})
	}
}

// asJSONError is ServeContent's error answer as a node gives it: the
// same status and headers, but the text, or the status's name where
// there is none, as a JSON error.
func asJSONError(t *testing.T, a answer) answer {
	t.Helper()
	msg := string(bytes.TrimSpace(a.body))
	if msg == "" {
		msg = strings.ToLower(http.StatusText(a.status))
	}
	body, err := json.Marshal(map[string]string{"error": msg})
	if err != nil {
		t.Fatal(err)
	}
	body = append(body, '\n')
	h := a.header.Clone()
	h.Del("X-Content-Type-Options")
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", fmt.Sprint(len(body)))
	return answer{status: a.status, header: h, body: body}
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

// fetch does one request and keeps the answer's headers but Date, which
// differs between any two answers.
func fetch(t *testing.T, c *http.Client, method, url string, header []string) answer {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	resp.Header.Del("Date")
	return answer{status: resp.StatusCode, header: resp.Header, body: body}
}
