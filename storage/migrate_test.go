package storage

import (
	"os"
	"path/filepath"
	"testing"
)

// TestOpen_V1File opens the schema v1 file that migrations keeps, through
// storage.Open, and reads its data back at the current schema.
func TestOpen_V1File(t *testing.T) {
	src, err := os.ReadFile("../migrations/testdata/v1/metacdn.db")
	if err != nil {
		t.Fatal(err)
	}
	tdb := &testDB{tb: t, path: filepath.Join(t.TempDir(), "metacdn.db"), opts: Options{NodeID: "n1", SweepInterval: -1}}
	if err := os.WriteFile(tdb.path, src, 0o600); err != nil {
		t.Fatal(err)
	}
	tdb.open()
	t.Cleanup(func() { tdb.check(); tdb.Close() })

	o, err := tdb.Get("hello.txt")
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if got, want := string(tdb.mustRead("hello.txt")), "hello from schema v1\n"; got != want {
		t.Fatalf("content %q, want %q", got, want)
	}
	if n, err := tdb.CountDynamicVariants(); err != nil || n != 2 {
		t.Fatalf("CountDynamicVariants=%d, %v; want 2 (built by the v2 migration)", n, err)
	}
	refs, _ := tdb.DynamicVariants(0)
	if len(refs) != 2 || refs[0].Width != 200 || refs[1].Width != 100 {
		t.Fatalf("DynamicVariants=%+v", refs)
	}
	infos, _ := tdb.Variants(o.SHA256)
	if len(infos) != 3 || infos[2].Width != 800 || !infos[2].Precomputed || infos[0].Bytes != 100 {
		t.Fatalf("Variants=%+v", infos)
	}
	if es, _ := tdb.ReadLog("n1", 0, 0); len(es) != 1 || es[0].Key != "hello.txt" {
		t.Fatalf("ReadLog=%+v", es)
	}
	if peers, _ := tdb.Peers(); len(peers) != 1 || peers[0].ID != "n2" {
		t.Fatalf("Peers=%+v", peers)
	}
	// New writes continue the log and reuse no chunk set.
	tdb.mustPut("next.txt", []byte("written at v2"))
	if heads, _ := tdb.Heads(); heads["n1"] != 2 {
		t.Fatalf("Heads=%v, want n1:2", heads)
	}
	if got := string(tdb.mustRead("hello.txt")); got != "hello from schema v1\n" {
		t.Fatalf("old content after a new write: %q", got)
	}
	// Deleting the object frees its blob and every variant.
	if _, err := tdb.Delete("hello.txt"); err != nil {
		t.Fatal(err)
	}
	if n, _ := tdb.CountDynamicVariants(); n != 0 {
		t.Fatalf("dynamic count after delete=%d", n)
	}
}
