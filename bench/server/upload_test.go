package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"metacdn/uploader"
	"metacdn/wire"
)

// uploadSize is what BenchmarkUpload sends per op, as run.sh does.
const uploadSize = 64 << 20

// BenchmarkUpload measures the ingest of one 64 MiB object into an
// in-process node, by raw PUT and by the upload protocol in either
// encoding, against writing and fsyncing the bytes to a file. Client and
// server share the process, so a CPU profile holds both: focus on
// metacdn/node, metacdn/storage or net/http.(*conn).serve for the server.
//
//	go test -run '^$' -bench Upload/put -benchtime 3x -cpuprofile cpu.out ./bench/server/
func BenchmarkUpload(b *testing.B) {
	n := startNode(b, "warn")
	content := make([]byte, uploadSize)
	rand.Read(content)
	// Each op changes the first bytes: a blob is stored once per digest.
	var op uint64
	fresh := func() []byte {
		op++
		binary.BigEndian.PutUint64(content, op)
		return content
	}
	b.Run("fsync", func(b *testing.B) {
		b.SetBytes(uploadSize)
		name := filepath.Join(b.TempDir(), "out")
		for range b.N {
			f, err := os.Create(name)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := f.Write(fresh()); err != nil {
				b.Fatal(err)
			}
			if err := f.Sync(); err != nil {
				b.Fatal(err)
			}
			f.Close()
		}
	})
	b.Run("put", func(b *testing.B) {
		b.SetBytes(uploadSize)
		for i := range b.N {
			put(b, http.DefaultClient, fmt.Sprintf("%s/v1/objects/up/put-%d", n.URL(), i), fresh())
		}
	})
	for _, enc := range []wire.Encoding{wire.Protobuf, wire.JSON} {
		b.Run(string(enc), func(b *testing.B) {
			b.SetBytes(uploadSize)
			up := &uploader.Uploader{Server: n.URL(), Encoding: enc}
			for i := range b.N {
				_, err := up.Upload(context.Background(), uploader.UploadFile{
					Key:  fmt.Sprintf("up/%s-%d", enc, i),
					Size: uploadSize,
					Body: bytes.NewReader(fresh()),
				})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
