package storage

import (
	"context"
	"os"
	"syscall"
	"testing"
)

// A bulk commit leaves disk blocks allocated past the end of the bbolt
// file, for the next commits to write into.
func TestWriteback_ReservesAhead(t *testing.T) {
	db := mustOpenDB(t)
	if db.wb == nil {
		t.Skip("this filesystem does not take sync_file_range")
	}
	if _, err := db.Put(context.Background(), PutRequest{Key: "big", Body: &patternReader{n: 20 << 20}}); err != nil {
		t.Fatal(err)
	}
	if db.wb.reserved == 0 {
		t.Skip("this filesystem does not take fallocate")
	}
	// Blocks are allocated past the data, within the file's sparse tail
	// and beyond.
	end := db.dataSize()
	fi, err := os.Stat(db.bolt.Path())
	if err != nil {
		t.Fatal(err)
	}
	allocated := fi.Sys().(*syscall.Stat_t).Blocks * 512
	if db.wb.reserved < end+reserveAhead/2 || allocated < end+reserveAhead/2 {
		t.Fatalf("%d bytes allocated, reserved to %d, for %d bytes of data; want %d more", allocated, db.wb.reserved, end, reserveAhead/2)
	}
	if got := db.mustRead("big"); int64(len(got)) != 20<<20 {
		t.Fatalf("read back %d bytes", len(got))
	}
}
