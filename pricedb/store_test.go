package pricedb

import (
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	berrors "go.etcd.io/bbolt/errors"
)

// mustOpenDB opens a Store in a temporary directory; cleanup checks the
// file's consistency and closes it.
func mustOpenDB(tb testing.TB) *Store {
	tb.Helper()
	return mustOpenPath(tb, filepath.Join(tb.TempDir(), DBFile))
}

func mustOpenPath(tb testing.TB, path string) *Store {
	tb.Helper()
	s, err := Open(path, Options{})
	if err != nil {
		tb.Fatalf("Open(%s): %v", path, err)
	}
	tb.Cleanup(func() { mustCheckClose(tb, s) })
	return s
}

// mustCheckClose runs bbolt's consistency check, then closes s. Closing an
// already closed Store is fine.
func mustCheckClose(tb testing.TB, s *Store) {
	tb.Helper()
	err := s.db.View(func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			tb.Errorf("tx.Check: %v", err)
		}
		return nil
	})
	if err != nil && !errors.Is(err, berrors.ErrDatabaseNotOpen) {
		tb.Errorf("check view: %v", err)
	}
	if err := s.Close(); err != nil {
		tb.Errorf("Close: %v", err)
	}
}

func testPrice(provider string, egress, server float64) Price {
	return Price{Provider: provider, EgressUSDPerGB: egress, ServerUSDPerHour: server}
}

func TestStore_PutGet(t *testing.T) {
	s := mustOpenDB(t)
	if got, want := s.Version(), uint64(0); got != want {
		t.Fatalf("Version()=%d on a new db, want %d", got, want)
	}
	req := 0.004
	in := Price{
		Provider: "aws", EgressUSDPerGB: 0.09, ServerUSDPerHour: 0.0208,
		RequestUSDPer10k: &req, Region: "us-east-1",
		Tiers:  []Tier{{UpToGB: 10240, USDPerGB: 0.09}, {USDPerGB: 0.05}},
		Source: "https://aws.amazon.com/ec2/pricing/on-demand/", AsOf: "2025-01-31",
		Extra: map[string]float64{"public_ipv4_usd_per_hour": 0.005},
	}
	stored, created, err := s.Put(in)
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	if !created {
		t.Fatalf("Put created=false for a new row")
	}
	if got, want := stored.Version, uint64(1); got != want {
		t.Fatalf("stored.Version=%d, want %d", got, want)
	}
	if stored.UpdatedAt.IsZero() {
		t.Fatalf("stored.UpdatedAt is zero")
	}
	got, err := s.Get("aws")
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if !sameContent(got, in) || got.Version != 1 || !got.UpdatedAt.Equal(stored.UpdatedAt) {
		t.Fatalf("Get()=%+v, want %+v", got, stored)
	}

	in.EgressUSDPerGB = 0.085
	stored, created, err = s.Put(in)
	if err != nil {
		t.Fatalf("Put replace: %v", err)
	}
	if created {
		t.Fatalf("Put created=true for a replaced row")
	}
	if got, want := stored.Version, uint64(2); got != want {
		t.Fatalf("replaced Version=%d, want %d", got, want)
	}
	if got, want := s.Version(), uint64(2); got != want {
		t.Fatalf("Version()=%d, want %d", got, want)
	}
}

func TestStore_PutUnchanged(t *testing.T) {
	s := mustOpenDB(t)
	p := testPrice("gcp", 0.12, 0.016751)
	first, _, err := s.Put(p)
	if err != nil {
		t.Fatal(err)
	}
	// What GET returns, PUT back: the server-set fields must not count.
	again, created, err := s.Put(first)
	if err != nil {
		t.Fatal(err)
	}
	if created || again.Version != first.Version || !again.UpdatedAt.Equal(first.UpdatedAt) {
		t.Fatalf("unchanged Put gave created=%v %+v, want the old row %+v", created, again, first)
	}
	if got, want := s.Version(), uint64(1); got != want {
		t.Fatalf("Version()=%d after an unchanged put, want %d", got, want)
	}
}

func TestStore_GetNotFound(t *testing.T) {
	s := mustOpenDB(t)
	if _, err := s.Get("nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get(nope) err=%v, want ErrNotFound", err)
	}
	if _, err := s.Get("Bad Name"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Get(bad name) err=%v, want ErrInvalid", err)
	}
}

func TestStore_Delete(t *testing.T) {
	s := mustOpenDB(t)
	if _, err := s.Delete("aws"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Delete(missing) err=%v, want ErrNotFound", err)
	}
	if got, want := s.Version(), uint64(0); got != want {
		t.Fatalf("Version()=%d after a failed delete, want %d", got, want)
	}
	if _, _, err := s.Put(testPrice("aws", 0.09, 0.02)); err != nil {
		t.Fatal(err)
	}
	v, err := s.Delete("aws")
	if err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if got, want := v, uint64(2); got != want {
		t.Fatalf("Delete version=%d, want %d", got, want)
	}
	if _, err := s.Get("aws"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get after delete err=%v, want ErrNotFound", err)
	}
}

func TestStore_ListSorted(t *testing.T) {
	s := mustOpenDB(t)
	rows, v, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	if rows == nil || len(rows) != 0 || v != 0 {
		t.Fatalf("List() on empty db = %v, %d; want [], 0", rows, v)
	}
	for _, name := range []string{"gcp", "aws", "azure", "a-1", "9x"} {
		if _, _, err := s.Put(testPrice(name, 0.1, 0.01)); err != nil {
			t.Fatal(err)
		}
	}
	rows, v, err = s.List()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range rows {
		names = append(names, r.Provider)
	}
	if got, want := fmt.Sprint(names), "[9x a-1 aws azure gcp]"; got != want {
		t.Fatalf("List() order %s, want %s", got, want)
	}
	if got, want := v, uint64(5); got != want {
		t.Fatalf("List() version=%d, want %d", got, want)
	}
}

func TestStore_Reopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), DBFile)
	s := mustOpenPath(t, path)
	if _, _, err := s.Put(testPrice("aws", 0.09, 0.02)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Put(testPrice("gcp", 0.12, 0.017)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Delete("gcp"); err != nil {
		t.Fatal(err)
	}
	epoch := s.Epoch()
	mustCheckClose(t, s)

	s = mustOpenPath(t, path)
	if got, want := s.Version(), uint64(3); got != want {
		t.Fatalf("Version() after reopen=%d, want %d", got, want)
	}
	if got, want := s.Epoch(), epoch; got != want {
		t.Fatalf("Epoch() after reopen=%q, want %q", got, want)
	}
	p, err := s.Get("aws")
	if err != nil {
		t.Fatalf("Get after reopen: %v", err)
	}
	if got, want := p.EgressUSDPerGB, 0.09; got != want {
		t.Fatalf("EgressUSDPerGB=%g, want %g", got, want)
	}
}

func TestStore_EpochDiffersPerFile(t *testing.T) {
	a, b := mustOpenDB(t), mustOpenDB(t)
	if a.Epoch() == b.Epoch() || len(a.Epoch()) != 16 {
		t.Fatalf("epochs %q and %q: want two different 16-hex-digit ids", a.Epoch(), b.Epoch())
	}
}

func TestStore_Seed(t *testing.T) {
	t.Run("Empty", func(t *testing.T) {
		s := mustOpenDB(t)
		ok, err := s.Seed([]Price{testPrice("aws", 0.09, 0.02), testPrice("gcp", 0.12, 0.017)})
		if err != nil || !ok {
			t.Fatalf("Seed()=%v, %v; want true, nil", ok, err)
		}
		rows, v, err := s.List()
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 2 || v != 1 || rows[0].Version != 1 || rows[1].Version != 1 {
			t.Fatalf("after seed: %d rows at version %d (%+v), want 2 rows all at version 1", len(rows), v, rows)
		}
		ok, err = s.Seed([]Price{testPrice("azure", 0.087, 0.02)})
		if err != nil || ok {
			t.Fatalf("second Seed()=%v, %v; want false, nil", ok, err)
		}
		if _, err := s.Get("azure"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("second seed wrote a row: err=%v", err)
		}
	})
	t.Run("AllDeleted", func(t *testing.T) {
		// A table emptied on purpose must stay empty across restarts.
		s := mustOpenDB(t)
		if _, _, err := s.Put(testPrice("aws", 0.09, 0.02)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Delete("aws"); err != nil {
			t.Fatal(err)
		}
		ok, err := s.Seed([]Price{testPrice("gcp", 0.12, 0.017)})
		if err != nil || ok {
			t.Fatalf("Seed()=%v, %v on an emptied db; want false, nil", ok, err)
		}
	})
	t.Run("Invalid", func(t *testing.T) {
		s := mustOpenDB(t)
		_, err := s.Seed([]Price{testPrice("aws", -1, 0.02)})
		if !errors.Is(err, ErrInvalid) {
			t.Fatalf("Seed(negative) err=%v, want ErrInvalid", err)
		}
		_, err = s.Seed([]Price{testPrice("aws", 1, 1), testPrice("aws", 2, 2)})
		if !errors.Is(err, ErrInvalid) {
			t.Fatalf("Seed(duplicate) err=%v, want ErrInvalid", err)
		}
		if got := s.Version(); got != 0 {
			t.Fatalf("Version()=%d after failed seeds, want 0", got)
		}
	})
}

func TestStore_PutInvalid(t *testing.T) {
	neg := -0.5
	for _, tc := range []struct {
		name  string
		p     Price
		field string
	}{
		{"EmptyProvider", testPrice("", 1, 1), "provider"},
		{"UpperProvider", testPrice("AWS", 1, 1), "provider"},
		{"LeadingDash", testPrice("-aws", 1, 1), "provider"},
		{"LongProvider", testPrice(strings.Repeat("a", 64), 1, 1), "provider"},
		{"NegativeEgress", testPrice("aws", -0.01, 1), "egress_usd_per_gb"},
		{"NaNEgress", testPrice("aws", math.NaN(), 1), "egress_usd_per_gb"},
		{"InfServer", testPrice("aws", 1, math.Inf(1)), "server_usd_per_hour"},
		{"NegativeServer", testPrice("aws", 1, -1), "server_usd_per_hour"},
		{"NegativeRequest", Price{Provider: "aws", RequestUSDPer10k: &neg}, "request_usd_per_10k"},
		{"TierOrder", Price{Provider: "aws", Tiers: []Tier{{UpToGB: 10, USDPerGB: 1}, {UpToGB: 5, USDPerGB: 1}}}, "tiers[1].up_to_gb"},
		{"TierOpenNotLast", Price{Provider: "aws", Tiers: []Tier{{USDPerGB: 1}, {UpToGB: 5, USDPerGB: 1}}}, "tiers[0].up_to_gb"},
		{"TierNegative", Price{Provider: "aws", Tiers: []Tier{{USDPerGB: -1}}}, "tiers[0].usd_per_gb"},
		{"ExtraNegative", Price{Provider: "aws", Extra: map[string]float64{"fee": -1}}, "extra.fee"},
		{"ExtraBadKey", Price{Provider: "aws", Extra: map[string]float64{"Fee Name": 1}}, "extra"},
		{"AsOf", Price{Provider: "aws", AsOf: "yesterday"}, "as_of"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := mustOpenDB(t)
			_, _, err := s.Put(tc.p)
			var fe *FieldError
			if !errors.As(err, &fe) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("Put err=%v, want a *FieldError wrapping ErrInvalid", err)
			}
			if got, want := fe.Field, tc.field; got != want {
				t.Fatalf("FieldError.Field=%q, want %q (%v)", got, want, err)
			}
			if got := s.Version(); got != 0 {
				t.Fatalf("Version()=%d after a rejected put, want 0", got)
			}
		})
	}
}

func TestStore_Closed(t *testing.T) {
	s := mustOpenDB(t)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get("aws"); !errors.Is(err, ErrClosed) {
		t.Fatalf("Get after Close err=%v, want ErrClosed", err)
	}
	if _, _, err := s.Put(testPrice("aws", 1, 1)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Put after Close err=%v, want ErrClosed", err)
	}
	if _, _, err := s.List(); !errors.Is(err, ErrClosed) {
		t.Fatalf("List after Close err=%v, want ErrClosed", err)
	}
}

func TestStore_OpenLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), DBFile)
	mustOpenPath(t, path)
	// bbolt's flock is per open file, so a second Open in this process
	// waits like another process would.
	s, err := Open(path, Options{Timeout: 50 * time.Millisecond})
	if err == nil {
		s.Close()
		t.Fatalf("second Open of a locked file succeeded")
	}
}

func TestStore_ConcurrentPuts(t *testing.T) {
	s := mustOpenDB(t)
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, err := s.Put(testPrice(fmt.Sprintf("p%d", i), float64(i), 1))
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	rows, v, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != n || v != n || s.Version() != n {
		t.Fatalf("after %d puts: %d rows, version %d (cached %d)", n, len(rows), v, s.Version())
	}
	seen := map[uint64]bool{}
	for _, r := range rows {
		if seen[r.Version] {
			t.Fatalf("two rows at version %d", r.Version)
		}
		seen[r.Version] = true
	}
}
