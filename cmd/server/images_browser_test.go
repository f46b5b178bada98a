package main_test

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"metacdn/fixtures"
	"metacdn/scaler/testimg"
)

const chromiumPath = "/usr/bin/chromium"

// browserPage asks for client hints with the meta equivalent of Accept-CH
// (the node serves HTML objects as stored, without that header), then
// loads a ?w=auto image and writes its natural width into the DOM, which
// --dump-dom prints once the page has loaded.
const browserPage = `<!doctype html>
<html><head><meta http-equiv="Accept-CH" content="ECT, Downlink, RTT, Save-Data"><title>w=auto</title></head>
<body><p id="w">pending</p>
<img src="/v1/objects/photo.jpg?w=auto" onload="document.getElementById('w').textContent = 'natural:' + this.naturalWidth">
</body></html>
`

var naturalWidthRE = regexp.MustCompile(`id="w">natural:(\d+)<`)

// TestImages_BrowserAutoWidth loads a page with a ?w=auto image in headless
// Chromium told its connection is 2G, then 4G: the 2G load gets the
// narrower image.
func TestImages_BrowserAutoWidth(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skipf("%s not installed (apt-get install chromium; CI installs it): %v", chromiumPath, err)
	}
	c := fixtures.StartCluster(t, 1, fixtures.ClusterOptions{})
	s := c.Servers[0]
	put := func(key, contentType string, body []byte) {
		req, err := http.NewRequest(http.MethodPut, s.Direct()+"/v1/objects/"+key, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", contentType)
		res, err := c.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusCreated {
			t.Fatalf("PUT %s: %s", key, res.Status)
		}
	}
	put("photo.jpg", "image/jpeg", testimg.PhotoJPEG(2000, 1500, 7, 85))
	put("page.html", "text/html; charset=utf-8", []byte(browserPage))

	widths := map[string]int{}
	for _, ect := range []string{"2G", "4G"} {
		widths[ect] = chromiumNaturalWidth(t, s.Direct()+"/v1/objects/page.html", ect)
	}
	t.Logf("natural widths: 2G %d, 4G %d", widths["2G"], widths["4G"])
	if widths["2G"] >= widths["4G"] {
		t.Fatalf("2G got %d px, 4G %d px: want 2G narrower", widths["2G"], widths["4G"])
	}
	// The choices were made from the hints Chromium sent, not guessed.
	res, err := c.Client().Get(s.Direct() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var m bytes.Buffer
	m.ReadFrom(res.Body)
	for _, class := range []string{"2g", "4g"} {
		if !strings.Contains(m.String(), `metacdn_image_auto_choices_total{class="`+class+`",evidence="client-hints"} 1`) {
			t.Errorf("no ?w=auto choice from a %s client hint in /metrics", class)
		}
	}
}

// chromiumNaturalWidth loads url in a fresh headless Chromium with the
// effective connection type forced and returns the width the page
// reported.
func chromiumNaturalWidth(t *testing.T, url, ect string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, chromiumPath,
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir="+t.TempDir(),
		"--force-effective-connection-type="+ect,
		"--dump-dom", url)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium %s: %v\n%s", ect, err, stderr.Bytes())
	}
	m := naturalWidthRE.FindSubmatch(out)
	if m == nil {
		t.Fatalf("chromium %s: page did not report a width:\n%s\nstderr:\n%s", ect, out, stderr.Bytes())
	}
	w, _ := strconv.Atoi(string(m[1]))
	return w
}
