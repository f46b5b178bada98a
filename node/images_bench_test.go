package node_test

import (
	"fmt"
	"io"
	"net/http"
	"testing"
)

// BenchmarkImages_Get compares GETs of a stored variant (precomputed, or
// dynamic once made) with a GET of a plain object of the same size: a
// variant kept is meant to be served as fast as any object.
func BenchmarkImages_Get(b *testing.B) {
	n := startNode(b)
	putObject(b, n, "a.jpg", photo(), "image/jpeg")
	vl := waitPrecomputed(b, n, "a.jpg", 4)
	var size int64
	for _, v := range vl.Variants {
		if v.Width == 640 {
			size = v.Bytes
		}
	}
	putObject(b, n, "plain.bin", randomBytes(int(size)), "application/octet-stream")
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	get := func(b *testing.B, url string) {
		res, err := client.Get(url)
		if err != nil {
			b.Fatal(err)
		}
		nb, err := io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if err != nil || res.StatusCode != http.StatusOK {
			b.Fatalf("GET %s: %v %s", url, err, res.Status)
		}
		b.SetBytes(nb)
	}
	for _, bc := range []struct{ name, url string }{
		{"PlainObject", n.URL() + "/v1/objects/plain.bin"},
		{"PrecomputedVariant", n.URL() + "/v1/objects/a.jpg?w=640"},
		{"DynamicCached", n.URL() + "/v1/objects/a.jpg?w=600"},
		{"Original", n.URL() + "/v1/objects/a.jpg"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			get(b, bc.url) // makes the dynamic variant, warms the connection
			for b.Loop() {
				get(b, bc.url)
			}
		})
	}
	b.Logf("variant 640: %d bytes; plain object %s", size, fmt.Sprint(size))
}
