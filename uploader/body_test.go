package uploader

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"

	"metacdn/wire"
)

// streamOf returns the Protobuf stream body of the file at path from
// offset off, hashed apart as Upload does for a file.
func streamOf(tb testing.TB, path string, size, off, chunk int64) *streamBody {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { f.Close() })
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		tb.Fatal(err)
	}
	fh := hashFile(context.Background(), "k", f, size)
	tb.Cleanup(fh.stop)
	return &streamBody{
		enc: wire.Protobuf, f: UploadFile{Key: "k", Size: size, Body: f}, hash: fh, id: "u1",
		off: off, chunk: chunk, sent: func(int64) {}, closed: make(chan struct{}),
	}
}

// TestFileConn_SameBytes sends streams through fileConn as net/http
// does (the first bytes through the stream's Read into its buffer, the
// rest through the connection's ReadFrom) and checks that the peer gets
// exactly the bytes the stream's Read alone gives.
func TestFileConn_SameBytes(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ size, off, chunk, first int64 }{
		{5<<20 + 123, 0, 1 << 20, 256 << 10},
		{5<<20 + 123, 2 << 20, 1 << 20, 1},
		{3 << 20, 0, 4 << 20, 3<<20 - 5},
		{1000, 0, 300, 10},
	} {
		path := filepath.Join(dir, "f")
		content := make([]byte, tc.size)
		rand.Read(content)
		if err := os.WriteFile(path, content, 0o600); err != nil {
			t.Fatal(err)
		}
		want, err := io.ReadAll(streamOf(t, path, tc.size, tc.off, tc.chunk))
		if err != nil {
			t.Fatal(err)
		}

		sb := streamOf(t, path, tc.size, tc.off, tc.chunk)
		length, err := sb.protobufLength()
		if err != nil || length != int64(len(want)) {
			t.Fatalf("length %d, %v; the stream has %d bytes", length, err, len(want))
		}
		first := make([]byte, tc.first)
		if _, err := io.ReadFull(sb, first); err != nil {
			t.Fatal(err)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		got := make(chan []byte, 1)
		go func() {
			c, err := ln.Accept()
			if err != nil {
				got <- nil
				return
			}
			b, _ := io.ReadAll(c)
			c.Close()
			got <- b
		}()
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		fc := fileConn{c.(*net.TCPConn)}
		if _, err := fc.Write(first); err != nil {
			t.Fatal(err)
		}
		if _, err := fc.ReadFrom(&io.LimitedReader{R: sb, N: length - tc.first}); err != nil {
			t.Fatalf("ReadFrom: %v", err)
		}
		c.Close()
		// The listener closes only once the connection was accepted: the
		// accepting goroutine may not have reached Accept yet, and would
		// then find the listener closed and report no bytes.
		b := <-got
		ln.Close()
		if !bytes.Equal(b, want) {
			t.Fatalf("size %d from %d: peer got %d bytes differing from the stream's %d", tc.size, tc.off, len(b), len(want))
		}
	}
}

// TestStreamBody_FileContent checks when content may go by sendfile: from
// an *os.File hashed apart, once the message's head is out.
func TestStreamBody_FileContent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, make([]byte, 4000), 0o600); err != nil {
		t.Fatal(err)
	}
	sb := streamOf(t, path, 4000, 0, 1000)
	if f, _ := sb.fileContent(); f != nil {
		t.Fatal("content before the first message's head")
	}
	b := make([]byte, 1)
	for {
		if _, err := sb.Read(b); err != nil {
			t.Fatal(err)
		}
		if len(sb.head) == 0 {
			break
		}
	}
	if f, n := sb.fileContent(); f == nil || n != 1000 {
		t.Fatalf("after the head: file %v, %d bytes; want the message's content from the file", f, n)
	}
	sb.hash = nil
	sb.h = sha256.New()
	if f, _ := sb.fileContent(); f != nil {
		t.Fatal("content hashed inline would skip the hash")
	}
	sb.f.Body = bytes.NewReader(make([]byte, 4000))
	sb.hash = &fileHash{}
	if f, _ := sb.fileContent(); f != nil {
		t.Fatal("content of a reader that is no *os.File")
	}
}
