package pricedb

import (
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
)

// BenchmarkServer_List measures GET /v1/prices with the fixture's three
// rows, answered in full and as 304 to a poller that sends its ETag.
func BenchmarkServer_List(b *testing.B) {
	s := mustOpenDB(b)
	data, err := os.ReadFile("../fixtures/prices.json")
	if err != nil {
		b.Fatal(err)
	}
	rows, err := DecodeSeed(data)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := s.Seed(rows); err != nil {
		b.Fatal(err)
	}
	h := NewServer(s, Config{})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v1/prices", nil))
	tag := rec.Header().Get("ETag")

	b.Run("Full", func(b *testing.B) {
		req := httptest.NewRequest(http.MethodGet, "/v1/prices", nil)
		for b.Loop() {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Fatalf("status %d", rec.Code)
			}
		}
	})
	b.Run("NotModified", func(b *testing.B) {
		req := httptest.NewRequest(http.MethodGet, "/v1/prices", nil)
		req.Header.Set("If-None-Match", tag)
		for b.Loop() {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusNotModified {
				b.Fatalf("status %d", rec.Code)
			}
		}
	})
}

// BenchmarkStore_Put measures one changing put, i.e. one bbolt commit.
func BenchmarkStore_Put(b *testing.B) {
	s := mustOpenDB(b)
	p := testPrice("aws", 0.09, 0.0208)
	i := 0
	for b.Loop() {
		i++
		p.ServerUSDPerHour = float64(i)
		if _, _, err := s.Put(p); err != nil {
			b.Fatal(err)
		}
	}
}
