package server

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestMetrics_RequestSeries checks the request counters' labels and counts
// after a mix of routes, methods and codes: the node caches each series,
// and a cached series must be the one the labels name.
func TestMetrics_RequestSeries(t *testing.T) {
	n := startNode(t, "warn")
	c := &http.Client{}
	send := func(method, path string, body string, times int) {
		t.Helper()
		for range times {
			req, err := http.NewRequest(method, n.URL()+path, strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}
	send("PUT", "/v1/objects/a/b.txt", "hello", 1)
	send("GET", "/v1/objects/a/b.txt", "", 3)
	send("HEAD", "/v1/objects/a/b.txt", "", 2)
	send("GET", "/v1/objects/nope", "", 4)
	send("GET", "/v1/objects", "", 1)
	send("GET", "/no/such/endpoint", "", 2)
	send("GET", "/healthz", "", 5)

	resp, err := c.Get(n.URL() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	got := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if line := sc.Text(); strings.HasPrefix(line, "metacdn_http_requests_total{") {
			got[line] = true
		}
	}
	for _, want := range []string{
		`metacdn_http_requests_total{code="201",method="PUT",route="/v1/objects/*"} 1`,
		`metacdn_http_requests_total{code="200",method="GET",route="/v1/objects/*"} 3`,
		`metacdn_http_requests_total{code="200",method="HEAD",route="/v1/objects/*"} 2`,
		`metacdn_http_requests_total{code="404",method="GET",route="/v1/objects/*"} 4`,
		`metacdn_http_requests_total{code="200",method="GET",route="/v1/objects"} 1`,
		`metacdn_http_requests_total{code="404",method="GET",route="unmatched"} 2`,
		`metacdn_http_requests_total{code="200",method="GET",route="/healthz"} 5`,
	} {
		if !got[want] {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if t.Failed() {
		t.Logf("request series:\n%s", strings.Join(keys(got), "\n"))
	}
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
