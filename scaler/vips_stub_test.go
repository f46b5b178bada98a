//go:build !vips

package scaler

import (
	"errors"
	"testing"
)

func TestVips_NotBuilt(t *testing.T) {
	if _, err := Resize(smallJPEG, 100, Options{Filter: FilterVips}); !errors.Is(err, ErrNoVips) {
		t.Fatalf("err=%v, want ErrNoVips", err)
	}
	for _, f := range Filters {
		if f == FilterVips {
			t.Fatal("FilterVips listed in a build without it")
		}
	}
}
