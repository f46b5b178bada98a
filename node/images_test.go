package node_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	_ "image/gif"
	_ "image/jpeg"
	_ "image/png"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"metacdn/fixtures"
	"metacdn/node"
	"metacdn/scaler/testimg"
)

// The test photo: 1400x1050, deterministic, some 300 kB of JPEG: wide
// enough for every default width.
const photoW, photoH = 1400, 1050

var (
	photoOnce sync.Once
	photoJPEG []byte
)

func photo() []byte {
	photoOnce.Do(func() { photoJPEG = testimg.PhotoJPEG(photoW, photoH, 42, 85) })
	return photoJPEG
}

type variantList struct {
	Key      string `json:"key"`
	Original struct {
		Width, Height int
		Bytes         int64
	} `json:"original"`
	Variants []struct {
		Width, Height int
		Bytes         int64
		Precomputed   bool
	} `json:"variants"`
	Error string `json:"error"`
}

func putObject(tb testing.TB, n *node.Node, key string, body []byte, contentType string) {
	tb.Helper()
	a := do(tb, "PUT", n.URL()+"/v1/objects/"+key, bytes.NewReader(body), "Content-Type", contentType)
	if a.status != http.StatusCreated {
		tb.Fatalf("PUT %s: status=%d body=%s", key, a.status, a.body)
	}
}

func listVariants(tb testing.TB, n *node.Node, key string) variantList {
	tb.Helper()
	a := do(tb, "GET", n.URL()+"/v1/variants/"+key, nil)
	if a.status != http.StatusOK {
		tb.Fatalf("GET variants %s: status=%d body=%s", key, a.status, a.body)
	}
	var vl variantList
	if err := json.Unmarshal(a.body, &vl); err != nil {
		tb.Fatalf("variants body %s: %v", a.body, err)
	}
	return vl
}

// waitPrecomputed polls the variant list until want precomputed widths are
// there.
func waitPrecomputed(tb testing.TB, n *node.Node, key string, want int) variantList {
	tb.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		vl := listVariants(tb, n, key)
		got := 0
		for _, v := range vl.Variants {
			if v.Precomputed {
				got++
			}
		}
		if got >= want {
			return vl
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%s: %d precomputed variants after 20s, want %d: %+v", key, got, want, vl)
		}
		time.Sleep(20 * time.Millisecond) // polling the answer, not waiting blind
	}
}

// getImage fetches url and decodes the answer, failing on anything but 200.
func getImage(tb testing.TB, url string, headers ...string) (image.Image, answer) {
	tb.Helper()
	a := do(tb, "GET", url, nil, headers...)
	if a.status != http.StatusOK {
		tb.Fatalf("GET %s: status=%d body=%s", url, a.status, a.body)
	}
	img, _, err := image.Decode(bytes.NewReader(a.body))
	if err != nil {
		tb.Fatalf("GET %s: decode answer: %v", url, err)
	}
	if got, want := a.header.Get("X-Image-Width"), strconv.Itoa(img.Bounds().Dx()); got != want {
		tb.Fatalf("GET %s: X-Image-Width=%s, image is %s wide", url, got, want)
	}
	return img, a
}

// metric returns the value of a counter series from /metrics, 0 if absent.
func metric(tb testing.TB, n *node.Node, series string) float64 {
	tb.Helper()
	a := do(tb, "GET", n.URL()+"/metrics", nil)
	for _, line := range strings.Split(string(a.body), "\n") {
		if rest, ok := strings.CutPrefix(line, series+" "); ok {
			v, err := strconv.ParseFloat(rest, 64)
			if err != nil {
				tb.Fatalf("metric %s: %q", series, line)
			}
			return v
		}
	}
	return 0
}

func TestImages_PrecomputeAndList(t *testing.T) {
	n := startNode(t)
	putObject(t, n, "photos/a.jpg", photo(), "image/jpeg")
	vl := waitPrecomputed(t, n, "photos/a.jpg", 4)
	if vl.Key != "photos/a.jpg" || vl.Original.Width != photoW || vl.Original.Height != photoH || vl.Original.Bytes != int64(len(photo())) {
		t.Fatalf("original %+v of %q, want %dx%d %d bytes", vl.Original, vl.Key, photoW, photoH, len(photo()))
	}
	var widths []int
	for _, v := range vl.Variants {
		widths = append(widths, v.Width)
		if want := (photoH*v.Width + photoW/2) / photoW; v.Height != want || v.Bytes <= 0 {
			t.Errorf("variant %+v: want height %d and some bytes", v, want)
		}
	}
	if fmt.Sprint(widths) != "[160 320 640 1280]" {
		t.Fatalf("widths %v, want [160 320 640 1280]", widths)
	}
	if got := metric(t, n, `metacdn_image_variants_made_total{kind="precomputed"}`); got != 4 {
		t.Fatalf("precomputed made=%v, want 4", got)
	}

	t.Run("NarrowImage", func(t *testing.T) {
		// Never wider than the original: a 500 px image gets 160 and 320.
		putObject(t, n, "photos/narrow.jpg", testimg.PhotoJPEG(500, 300, 1, 80), "image/jpeg")
		vl := waitPrecomputed(t, n, "photos/narrow.jpg", 2)
		if len(vl.Variants) != 2 || vl.Variants[1].Width != 320 {
			t.Fatalf("variants %+v, want 160 and 320", vl.Variants)
		}
	})
	t.Run("NotImage", func(t *testing.T) {
		putObject(t, n, "notes.txt", []byte("hello, not an image"), "text/plain")
		vl := listVariants(t, n, "notes.txt")
		if vl.Original.Width != 0 || vl.Original.Bytes != 19 || len(vl.Variants) != 0 {
			t.Fatalf("non-image listing %+v", vl)
		}
	})
	t.Run("Missing", func(t *testing.T) {
		errorOf(t, do(t, "GET", n.URL()+"/v1/variants/no/such.jpg", nil), http.StatusNotFound)
	})
}

func TestImages_Width(t *testing.T) {
	n := startNode(t)
	putObject(t, n, "a.jpg", photo(), "image/jpeg")
	url := n.URL() + "/v1/objects/a.jpg"
	waitPrecomputed(t, n, "a.jpg", 4)

	for _, tc := range []struct {
		name   string
		w      int
		width  int
		source string
	}{
		{"Dynamic300", 300, 300, "dynamic"},
		{"Dynamic777", 777, 777, "dynamic"},
		{"Precomputed320", 320, 320, "precomputed"},
		{"AtOriginal", photoW, photoW, "original"},
		{"AboveOriginal", 5000, photoW, "original"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			img, a := getImage(t, fmt.Sprintf("%s?w=%d", url, tc.w))
			if got := img.Bounds().Dx(); got != tc.width {
				t.Fatalf("width %d, want %d", got, tc.width)
			}
			if got := a.header.Get("X-Image-Source"); got != tc.source {
				t.Fatalf("X-Image-Source=%s, want %s", got, tc.source)
			}
			if a.header.Get("Accept-Ch") == "" || a.header.Get("Cache-Control") == "" || a.header.Get("Etag") == "" {
				t.Fatalf("missing headers: %v", a.header)
			}
		})
	}

	t.Run("KeptAndConditional", func(t *testing.T) {
		_, a := getImage(t, url+"?w=300")
		etag := a.header.Get("Etag")
		if etag == `"`+hexSHA(photo())+`"` {
			t.Fatalf("variant ETag %s is the original's", etag)
		}
		vl := listVariants(t, n, "a.jpg")
		var dyn []int
		for _, v := range vl.Variants {
			if !v.Precomputed {
				dyn = append(dyn, v.Width)
			}
		}
		if fmt.Sprint(dyn) != "[300 777]" {
			t.Fatalf("dynamic variants %v, want [300 777]", dyn)
		}
		if got := metric(t, n, `metacdn_image_variants_made_total{kind="dynamic"}`); got != 2 {
			t.Fatalf("dynamic made=%v, want 2 (the second ?w=300 is served from storage)", got)
		}
		nm := do(t, "GET", url+"?w=300", nil, "If-None-Match", etag)
		if nm.status != http.StatusNotModified {
			t.Fatalf("If-None-Match status=%d, want 304", nm.status)
		}
		rg := do(t, "GET", url+"?w=300", nil, "Range", "bytes=0-9")
		if rg.status != http.StatusPartialContent || !bytes.Equal(rg.body, a.body[:10]) {
			t.Fatalf("Range status=%d len=%d", rg.status, len(rg.body))
		}
		h := do(t, "HEAD", url+"?w=300", nil)
		if h.status != 200 || len(h.body) != 0 || h.header.Get("Content-Length") != strconv.Itoa(len(a.body)) {
			t.Fatalf("HEAD status=%d Content-Length=%s", h.status, h.header.Get("Content-Length"))
		}
	})

	t.Run("BadWidth", func(t *testing.T) {
		for _, w := range []string{"0", "-5", "abc", "1.5", "99999", "16385", "1e3", "%20300", "300px"} {
			errorOf(t, do(t, "GET", url+"?w="+w, nil), http.StatusBadRequest)
		}
	})
	t.Run("MissingKey", func(t *testing.T) {
		errorOf(t, do(t, "GET", n.URL()+"/v1/objects/nope.jpg?w=100", nil), http.StatusNotFound)
	})
	t.Run("Collapsed", func(t *testing.T) {
		before := metric(t, n, `metacdn_image_variants_made_total{kind="dynamic"}`)
		var wg sync.WaitGroup
		bodies := make([][]byte, 8)
		for i := range bodies {
			wg.Go(func() {
				a := do(t, "GET", url+"?w=333", nil)
				if a.status == 200 {
					bodies[i] = a.body
				}
			})
		}
		wg.Wait()
		for i, b := range bodies {
			if b == nil || !bytes.Equal(b, bodies[0]) {
				t.Fatalf("answer %d differs or failed", i)
			}
		}
		if got := metric(t, n, `metacdn_image_variants_made_total{kind="dynamic"}`) - before; got != 1 {
			t.Fatalf("8 concurrent ?w=333 made %v variants, want 1", got)
		}
	})
}

func TestImages_Auto(t *testing.T) {
	n := startNode(t)
	putObject(t, n, "a.jpg", photo(), "image/jpeg")
	waitPrecomputed(t, n, "a.jpg", 4)
	url := n.URL() + "/v1/objects/a.jpg?w=auto"

	width := func(t *testing.T, headers ...string) (int, answer) {
		img, a := getImage(t, url, headers...)
		if got := a.header.Get("Vary"); !strings.Contains(got, "ECT") || !strings.Contains(got, "Save-Data") {
			t.Fatalf("Vary=%q, want ECT and Save-Data", got)
		}
		if a.header.Get("Accept-Ch") != "Downlink, ECT, RTT, Save-Data" {
			t.Fatalf("Accept-CH=%q", a.header.Get("Accept-Ch"))
		}
		return img.Bounds().Dx(), a
	}
	slow, sa := width(t, "ECT", "2g", "Downlink", "0.3", "RTT", "1400")
	fast, fa := width(t, "ECT", "4g", "Downlink", "10", "RTT", "50")
	save, _ := width(t, "ECT", "4g", "Downlink", "10", "Save-Data", "on")
	if slow != 160 || save != 160 {
		t.Fatalf("slow link got %d, Save-Data got %d, want the smallest, 160", slow, save)
	}
	if fast <= 320 {
		t.Fatalf("fast link got %d, want more than 320", fast)
	}
	if sa.header.Get("X-Image-Class") != "2g" || fa.header.Get("X-Image-Class") != "4g" {
		t.Fatalf("classes %q, %q", sa.header.Get("X-Image-Class"), fa.header.Get("X-Image-Class"))
	}
	if !strings.HasPrefix(fa.header.Get("Cache-Control"), "public") {
		t.Fatalf("hinted answer Cache-Control=%q, want public", fa.header.Get("Cache-Control"))
	}
	// No hints: the server's own evidence (the answers above taught it
	// this loopback client's rate) and a private answer.
	_, na := width(t)
	if !strings.HasPrefix(na.header.Get("Cache-Control"), "private") {
		t.Fatalf("unhinted answer Cache-Control=%q, want private", na.header.Get("Cache-Control"))
	}
	t.Logf("slow %d, fast %d, save-data %d, no hints %d (%s)", slow, fast, save,
		mustAtoi(t, na.header.Get("X-Image-Width")), na.header.Get("X-Image-Evidence"))
}

func mustAtoi(tb testing.TB, s string) int {
	tb.Helper()
	v, err := strconv.Atoi(s)
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

// TestImages_LearnsLoopbackRate checks the server's own estimate: after
// large answers over loopback, a request without hints is classed from
// TCP_INFO and gets a wide image.
func TestImages_LearnsLoopbackRate(t *testing.T) {
	n := startNode(t)
	putObject(t, n, "a.jpg", photo(), "image/jpeg")
	waitPrecomputed(t, n, "a.jpg", 4)
	url := n.URL() + "/v1/objects/a.jpg"
	getImage(t, url+"?w=1280")
	deadline := time.Now().Add(10 * time.Second)
	for node.ImageEstimate(n, "127.0.0.1").BytesPerSec == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no estimate of 127.0.0.1 after a 1280 px answer")
		}
		getImage(t, url+"?w=1280")
		time.Sleep(10 * time.Millisecond)
	}
	est := node.ImageEstimate(n, "127.0.0.1")
	_, a := getImage(t, url+"?w=auto")
	if got := mustAtoi(t, a.header.Get("X-Image-Width")); got < 1280 {
		t.Fatalf("loopback client (estimate %+v) got %d, want at least 1280", est, got)
	}
	if ev := a.header.Get("X-Image-Evidence"); ev != "tcp_info" && ev != "history" {
		t.Fatalf("evidence %q, want the server's estimate", ev)
	}
}

func TestImages_ScaleModes(t *testing.T) {
	t.Run("Precompute", func(t *testing.T) {
		n := startNode(t, func(c *node.Config) { c.Images.Scale = node.ScalePrecompute })
		putObject(t, n, "a.jpg", photo(), "image/jpeg")
		waitPrecomputed(t, n, "a.jpg", 4)
		url := n.URL() + "/v1/objects/a.jpg"
		for _, tc := range []struct{ w, want int }{{300, 320}, {320, 320}, {100, 160}, {1000, 1280}, {1300, photoW}} {
			img, a := getImage(t, fmt.Sprintf("%s?w=%d", url, tc.w))
			if got := img.Bounds().Dx(); got != tc.want {
				t.Fatalf("w=%d: width %d, want %d", tc.w, got, tc.want)
			}
			if src := a.header.Get("X-Image-Source"); src == "dynamic" {
				t.Fatalf("w=%d served a dynamic variant in precompute mode", tc.w)
			}
		}
		if got := metric(t, n, `metacdn_image_variants_made_total{kind="dynamic"}`); got != 0 {
			t.Fatalf("precompute mode made %v dynamic variants", got)
		}
		img, _ := getImage(t, url+"?w=auto", "ECT", "2g")
		if img.Bounds().Dx() != 160 {
			t.Fatalf("auto 2g width %d", img.Bounds().Dx())
		}
	})
	t.Run("Dynamic", func(t *testing.T) {
		n := startNode(t, func(c *node.Config) { c.Images.Scale = node.ScaleDynamic })
		putObject(t, n, "a.jpg", photo(), "image/jpeg")
		url := n.URL() + "/v1/objects/a.jpg"
		img, a := getImage(t, url+"?w=320")
		if img.Bounds().Dx() != 320 || a.header.Get("X-Image-Source") != "dynamic" {
			t.Fatalf("w=320: width %d from %s", img.Bounds().Dx(), a.header.Get("X-Image-Source"))
		}
		img, _ = getImage(t, url+"?w=auto", "ECT", "2g")
		if img.Bounds().Dx() != 160 {
			t.Fatalf("auto 2g width %d", img.Bounds().Dx())
		}
		vl := listVariants(t, n, "a.jpg")
		for _, v := range vl.Variants {
			if v.Precomputed {
				t.Fatalf("dynamic mode precomputed %+v", v)
			}
		}
		if len(vl.Variants) != 2 || metric(t, n, `metacdn_image_variants_made_total{kind="precomputed"}`) != 0 {
			t.Fatalf("variants %+v, want the two requested only", vl.Variants)
		}
	})
	t.Run("Both", func(t *testing.T) {
		n := startNode(t) // the default
		putObject(t, n, "a.jpg", photo(), "image/jpeg")
		waitPrecomputed(t, n, "a.jpg", 4)
		url := n.URL() + "/v1/objects/a.jpg"
		_, a := getImage(t, url+"?w=640")
		_, b := getImage(t, url+"?w=641")
		if a.header.Get("X-Image-Source") != "precomputed" || b.header.Get("X-Image-Source") != "dynamic" {
			t.Fatalf("640 from %s, 641 from %s", a.header.Get("X-Image-Source"), b.header.Get("X-Image-Source"))
		}
	})
}

func TestImages_Refused(t *testing.T) {
	n := startNode(t)
	full := photo()
	for _, tc := range []struct {
		name, key, contentType string
		body                   []byte
		status                 int
	}{
		{"PNGBomb", "bomb.png", "image/png", testimg.PNGClaiming(20000, 20000), http.StatusUnprocessableEntity},
		{"PNGBombHuge", "bomb2.png", "image/png", testimg.PNGClaiming(100000, 100000), http.StatusUnprocessableEntity},
		{"TruncatedJPEG", "cut.jpg", "image/jpeg", full[:len(full)/3], http.StatusUnprocessableEntity},
		{"ManyFrames", "many.gif", "image/gif", testimg.GIF(8, 8, 1500), http.StatusUnprocessableEntity},
		{"Text", "a.txt", "text/plain", []byte("plain text"), http.StatusUnsupportedMediaType},
		{"TextNamedJPEG", "fake.jpg", "image/jpeg", []byte("plain text, named .jpg"), http.StatusUnsupportedMediaType},
	} {
		t.Run(tc.name, func(t *testing.T) {
			putObject(t, n, tc.key, tc.body, tc.contentType)
			url := n.URL() + "/v1/objects/" + tc.key
			// Twice: the second answer comes from the remembered refusal.
			for range 2 {
				for _, w := range []string{"100", "auto"} {
					msg := errorOf(t, do(t, "GET", url+"?w="+w, nil), tc.status)
					if !strings.Contains(msg, "without ?w=") {
						t.Fatalf("message %q does not say what to do", msg)
					}
				}
			}
			// The object itself is still served as stored.
			if a := do(t, "GET", url, nil); a.status != 200 || !bytes.Equal(a.body, tc.body) {
				t.Fatalf("plain GET status=%d", a.status)
			}
			if vl := listVariants(t, n, tc.key); len(vl.Variants) != 0 || vl.Error == "" {
				t.Fatalf("listing %+v, want no variants and an error", vl)
			}
		})
	}
	if a := do(t, "GET", n.URL()+"/healthz", nil); a.status != 200 {
		t.Fatalf("healthz %d after the bombs", a.status)
	}
	if got := metric(t, n, `metacdn_image_rejections_total{reason="too_many_pixels"}`); got < 4 {
		t.Fatalf("too_many_pixels rejections %v", got)
	}

	t.Run("MaxPixelsFlag", func(t *testing.T) {
		n := startNode(t, func(c *node.Config) { c.Images.MaxPixels = 1_000_000 })
		putObject(t, n, "a.jpg", photo(), "image/jpeg")
		msg := errorOf(t, do(t, "GET", n.URL()+"/v1/objects/a.jpg?w=100", nil), http.StatusUnprocessableEntity)
		if !strings.Contains(msg, "1000000") {
			t.Fatalf("message %q does not name the limit", msg)
		}
	})
}

func TestImages_Busy(t *testing.T) {
	n := startNode(t, func(c *node.Config) {
		c.Images.MaxResizes = 1
		c.Images.Scale = node.ScaleDynamic
	})
	putObject(t, n, "a.jpg", photo(), "image/jpeg")
	url := n.URL() + "/v1/objects/a.jpg?w=300"
	release := node.HoldResizeSlots(n)
	a := do(t, "GET", url, nil)
	errorOf(t, a, http.StatusServiceUnavailable)
	if a.header.Get("Retry-After") == "" {
		t.Fatal("503 without Retry-After")
	}
	// The original needs no slot.
	if img, _ := getImage(t, n.URL()+"/v1/objects/a.jpg?w=4000"); img.Bounds().Dx() != photoW {
		t.Fatal("original not served while busy")
	}
	release()
	if img, _ := getImage(t, url); img.Bounds().Dx() != 300 {
		t.Fatal("not served after release")
	}
	if got := metric(t, n, `metacdn_image_rejections_total{reason="busy"}`); got != 1 {
		t.Fatalf("busy rejections %v, want 1", got)
	}
}

// TestImages_BusyIsNoError: a 503 for overload is the server working as
// designed; it is logged as a warning, never at ERROR, where operators
// look for failures.
func TestImages_BusyIsNoError(t *testing.T) {
	var logs fixtures.SyncBuffer
	log, err := node.NewLogger(&logs, "info", "json")
	if err != nil {
		t.Fatal(err)
	}
	cfg := node.DefaultConfig()
	cfg.ID, cfg.Listen, cfg.DataDir = "n1", "127.0.0.1:0", t.TempDir()
	cfg.Images.MaxResizes, cfg.Images.Scale = 1, node.ScaleDynamic
	n, err := node.Start(context.Background(), cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	putObject(t, n, "a.jpg", photo(), "image/jpeg")
	release := node.HoldResizeSlots(n)
	defer release()
	errorOf(t, do(t, "GET", n.URL()+"/v1/objects/a.jpg?w=300", nil), http.StatusServiceUnavailable)
	if out := logs.String(); strings.Contains(out, `"level":"ERROR"`) || !strings.Contains(out, `"status":503`) {
		t.Fatalf("logs of a busy 503: want its request line and no ERROR:\n%s", out)
	}
}

// TestImages_DecodeMemory: a resize takes its image's estimated decode
// memory from the server's budget. Short of it a request gets 503 and
// waits for nothing; an image over the whole budget is refused (422) and
// is not precomputed either, while the original still serves.
func TestImages_DecodeMemory(t *testing.T) {
	t.Run("Busy", func(t *testing.T) {
		n := startNode(t, func(c *node.Config) { c.Images.Scale = node.ScaleDynamic })
		putObject(t, n, "a.jpg", photo(), "image/jpeg")
		url := n.URL() + "/v1/objects/a.jpg?w=300"
		release := node.HoldDecodeMemory(n, 1000)
		a := do(t, "GET", url, nil)
		errorOf(t, a, http.StatusServiceUnavailable)
		if a.header.Get("Retry-After") == "" {
			t.Fatal("503 without Retry-After")
		}
		release()
		if img, _ := getImage(t, url); img.Bounds().Dx() != 300 {
			t.Fatal("not served once the memory was free")
		}
	})
	t.Run("OverBudget", func(t *testing.T) {
		n := startNode(t, func(c *node.Config) { c.Images.DecodeMemory = 100_000 })
		putObject(t, n, "a.jpg", photo(), "image/jpeg")
		url := n.URL() + "/v1/objects/a.jpg"
		// The upload's precompute gives up on it.
		for deadline := time.Now().Add(10 * time.Second); metric(t, n, "metacdn_image_precompute_failures_total") < 1; time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("precompute did not refuse the image")
			}
		}
		msg := errorOf(t, do(t, "GET", url+"?w=300", nil), http.StatusUnprocessableEntity)
		if !strings.Contains(msg, "decode-memory") {
			t.Fatalf("message %q does not name the setting", msg)
		}
		if a := do(t, "GET", url, nil); a.status != 200 || !bytes.Equal(a.body, photo()) {
			t.Fatalf("plain GET status=%d", a.status)
		}
		if vl := listVariants(t, n, "a.jpg"); len(vl.Variants) != 0 {
			t.Fatalf("variants %+v precomputed over the budget", vl.Variants)
		}
		if got := metric(t, n, `metacdn_image_rejections_total{reason="over_decode_memory"}`); got != 1 {
			t.Fatalf("over_decode_memory rejections %v, want 1", got)
		}
	})
}

func TestImages_EvictsDynamic(t *testing.T) {
	n := startNode(t, func(c *node.Config) {
		c.Images.MaxDynamicVariants = 2
		c.Images.Scale = node.ScaleDynamic
	})
	putObject(t, n, "a.jpg", testimg.PhotoJPEG(400, 300, 3, 80), "image/jpeg")
	url := n.URL() + "/v1/objects/a.jpg"
	for _, w := range []int{100, 101, 102, 103} {
		getImage(t, fmt.Sprintf("%s?w=%d", url, w))
	}
	vl := listVariants(t, n, "a.jpg")
	var widths []int
	for _, v := range vl.Variants {
		widths = append(widths, v.Width)
	}
	if fmt.Sprint(widths) != "[102 103]" {
		t.Fatalf("kept %v, want the newest two [102 103]", widths)
	}
	if got := metric(t, n, "metacdn_image_dynamic_evicted_total"); got != 2 {
		t.Fatalf("evicted %v, want 2", got)
	}
}

// TestImages_ReplicatedPrecompute uploads to one node and expects the
// other to make its own precomputed variants when the write arrives.
func TestImages_ReplicatedPrecompute(t *testing.T) {
	fast := func(c *node.Config) {
		c.Images.SweepInterval = 50 * time.Millisecond
		c.HeartbeatInterval = 100 * time.Millisecond
	}
	a := startNode(t, fast)
	b := startNode(t, fast, func(c *node.Config) {
		c.ID = "n2"
		c.Peers = []string{a.URL()}
	})
	putObject(t, a, "r.jpg", photo(), "image/jpeg")
	deadline := time.Now().Add(20 * time.Second)
	for do(t, "GET", b.URL()+"/v1/objects/r.jpg", nil).status != 200 {
		if time.Now().After(deadline) {
			t.Fatal("r.jpg did not replicate in 20s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	waitPrecomputed(t, b, "r.jpg", 4)
	if got := metric(t, b, `metacdn_image_variants_made_total{kind="precomputed"}`); got != 4 {
		t.Fatalf("n2 made %v precomputed variants, want its own 4", got)
	}
}

// TestImages_KickSweep has the sweep run only when kicked, as OnAppend
// would kick it for every replicated write: the replica's variants follow
// without waiting for a tick.
func TestImages_KickSweep(t *testing.T) {
	slow := func(c *node.Config) {
		c.Images.SweepInterval = time.Hour // the first sweep runs at start, then only when kicked
		c.HeartbeatInterval = 100 * time.Millisecond
	}
	a := startNode(t, slow)
	b := startNode(t, slow, func(c *node.Config) {
		c.ID = "n2"
		c.Peers = []string{a.URL()}
	})
	putObject(t, a, "k.jpg", photo(), "image/jpeg")
	deadline := time.Now().Add(20 * time.Second)
	for do(t, "GET", b.URL()+"/v1/objects/k.jpg", nil).status != 200 {
		if time.Now().After(deadline) {
			t.Fatal("k.jpg did not replicate in 20s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	node.KickImageSweep(b)
	waitPrecomputed(t, b, "k.jpg", 4)
}
