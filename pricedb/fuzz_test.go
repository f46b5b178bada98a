package pricedb

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"testing"
)

// FuzzDecodePrice checks that the row decoder never panics, that whatever
// it accepts is valid, and that an accepted row survives a round trip
// through its own JSON unchanged.
func FuzzDecodePrice(f *testing.F) {
	for _, tc := range decodeCases {
		f.Add([]byte(tc.body))
	}
	f.Add([]byte(`{"egress_usd_per_gb":0,"server_usd_per_hour":0}`))
	f.Add([]byte(`{"provider":"aws","egress_usd_per_gb":0.09,"server_usd_per_hour":0.0208,"request_usd_per_10k":0.004,` +
		`"region":"us-east-1","tiers":[{"up_to_gb":10240,"usd_per_gb":0.09},{"usd_per_gb":0.05}],` +
		`"source":"https://aws.amazon.com/ec2/pricing/on-demand/","as_of":"2025-01-31","notes":"n",` +
		`"extra":{"public_ipv4_usd_per_hour":0.005},"version":3,"updated_at":"2025-01-01T00:00:00Z"}`))
	if data, err := os.ReadFile("../fixtures/prices.json"); err == nil {
		if rows, err := DecodeSeed(data); err == nil {
			for _, r := range rows {
				b, _ := json.Marshal(r)
				f.Add(b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := DecodePrice(bytes.NewReader(data), "aws")
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v (%T) is not a *FieldError wrapping ErrInvalid", err, err)
			}
			return
		}
		if err := p.Validate(); err != nil {
			t.Fatalf("accepted row fails Validate: %v (%+v)", err, p)
		}
		b, err := json.Marshal(p)
		if err != nil {
			t.Fatalf("marshal accepted row: %v", err)
		}
		q, err := DecodePrice(bytes.NewReader(b), "aws")
		if err != nil {
			t.Fatalf("re-decode %s: %v", b, err)
		}
		if !sameContent(p, q) {
			t.Fatalf("round trip changed the row:\n%+v\n%+v", p, q)
		}
	})
}

// FuzzDecodeSeed checks that the seed decoder never panics and returns only
// valid rows with distinct providers.
func FuzzDecodeSeed(f *testing.F) {
	if data, err := os.ReadFile("../fixtures/prices.json"); err == nil {
		f.Add(data)
	}
	f.Add([]byte(`[{"provider":"aws","egress_usd_per_gb":1,"server_usd_per_hour":1}]`))
	f.Add([]byte(`{"providers":[]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		rows, err := DecodeSeed(data)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v is not ErrInvalid", err)
			}
			return
		}
		seen := map[string]bool{}
		for _, r := range rows {
			if err := r.Validate(); err != nil {
				t.Fatalf("accepted row fails Validate: %v", err)
			}
			if seen[r.Provider] {
				t.Fatalf("provider %q accepted twice", r.Provider)
			}
			seen[r.Provider] = true
		}
	})
}
