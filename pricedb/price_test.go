package pricedb

import (
	"errors"
	"os"
	"strings"
	"testing"
)

func TestDecodePrice(t *testing.T) {
	p, err := DecodePrice(strings.NewReader(`{
		"egress_usd_per_gb": 0.09, "server_usd_per_hour": 0.0208,
		"request_usd_per_10k": 0, "region": "us-east-1",
		"tiers": [{"up_to_gb": 10240, "usd_per_gb": 0.09}, {"usd_per_gb": 0.05}],
		"source": "https://aws.amazon.com/ec2/pricing/on-demand/", "as_of": "2025-01-31",
		"notes": "t3.small", "extra": {"public_ipv4_usd_per_hour": 0.005},
		"version": 7, "updated_at": "2025-01-01T00:00:00Z"}`), "aws")
	if err != nil {
		t.Fatalf("DecodePrice: %v", err)
	}
	if p.Provider != "aws" || p.EgressUSDPerGB != 0.09 || p.ServerUSDPerHour != 0.0208 ||
		p.RequestUSDPer10k == nil || *p.RequestUSDPer10k != 0 || len(p.Tiers) != 2 ||
		p.Tiers[1].UpToGB != 0 || p.Extra["public_ipv4_usd_per_hour"] != 0.005 {
		t.Fatalf("DecodePrice()=%+v", p)
	}
	if p.Version != 0 || !p.UpdatedAt.IsZero() {
		t.Fatalf("server-set fields taken from input: %+v", p)
	}
	// Zero costs are prices too (free egress), not missing ones.
	if _, err := DecodePrice(strings.NewReader(`{"egress_usd_per_gb":0,"server_usd_per_hour":0}`), "free"); err != nil {
		t.Fatalf("zero costs: %v", err)
	}
	if _, err := DecodePrice(strings.NewReader(`{"provider":"gcp","egress_usd_per_gb":1,"server_usd_per_hour":1}`), ""); err != nil {
		t.Fatalf("provider from body: %v", err)
	}
	// Any other cost field is a named cost, as one in extra is.
	p, err = DecodePrice(strings.NewReader(`{"egress_usd_per_gb":0.05,"server_usd_per_hour":0.02,
		"storage_usd_per_gb_month":0.02,"extra":{"cdn_fee":0}}`), "oracle")
	if err != nil {
		t.Fatalf("other cost fields: %v", err)
	}
	if len(p.Extra) != 2 || p.Extra["storage_usd_per_gb_month"] != 0.02 || p.Extra["cdn_fee"] != 0 {
		t.Fatalf("other cost fields: Extra=%v, want both costs", p.Extra)
	}
}

// decodeCases are rows every decoder path must refuse, with the field the
// error must name ("" for the body as a whole).
var decodeCases = []struct {
	name, body, field string
}{
	{"NegativeEgress", `{"egress_usd_per_gb":-0.09,"server_usd_per_hour":1}`, "egress_usd_per_gb"},
	{"NegativeServer", `{"egress_usd_per_gb":0.09,"server_usd_per_hour":-1}`, "server_usd_per_hour"},
	{"MissingEgress", `{"server_usd_per_hour":1}`, "egress_usd_per_gb"},
	{"MissingServer", `{"egress_usd_per_gb":1}`, "server_usd_per_hour"},
	{"NullEgress", `{"egress_usd_per_gb":null,"server_usd_per_hour":1}`, "egress_usd_per_gb"},
	{"StringEgress", `{"egress_usd_per_gb":"0.09","server_usd_per_hour":1}`, "egress_usd_per_gb"},
	{"BoolServer", `{"egress_usd_per_gb":1,"server_usd_per_hour":true}`, "server_usd_per_hour"},
	{"ObjectServer", `{"egress_usd_per_gb":1,"server_usd_per_hour":{}}`, "server_usd_per_hour"},
	{"HugeEgress", `{"egress_usd_per_gb":1e400,"server_usd_per_hour":1}`, "egress_usd_per_gb"},
	{"NegativeRequest", `{"egress_usd_per_gb":1,"server_usd_per_hour":1,"request_usd_per_10k":-1}`, "request_usd_per_10k"},
	{"StringRequest", `{"egress_usd_per_gb":1,"server_usd_per_hour":1,"request_usd_per_10k":"x"}`, "request_usd_per_10k"},
	{"UnknownField", `{"egress_usd_per_gb":1,"server_usd_per_hour":1,"regoin":"us-east-1"}`, "regoin"},
	{"OtherCostNegative", `{"egress_usd_per_gb":1,"server_usd_per_hour":1,"storage_usd_per_gb_month":-1}`, "storage_usd_per_gb_month"},
	{"OtherCostString", `{"egress_usd_per_gb":1,"server_usd_per_hour":1,"storage_usd_per_gb_month":"0.02"}`, "storage_usd_per_gb_month"},
	{"OtherCostNull", `{"egress_usd_per_gb":1,"server_usd_per_hour":1,"storage_usd_per_gb_month":null}`, "storage_usd_per_gb_month"},
	{"OtherCostHuge", `{"egress_usd_per_gb":1,"server_usd_per_hour":1,"storage_usd_per_gb_month":1e400}`, "storage_usd_per_gb_month"},
	{"OtherCostBadName", `{"egress_usd_per_gb":1,"server_usd_per_hour":1,"Storage":1}`, "Storage"},
	{"OtherCostTwice", `{"egress_usd_per_gb":1,"server_usd_per_hour":1,"cdn_fee":1,"extra":{"cdn_fee":2}}`, "cdn_fee"},
	{"UnknownTierField", `{"egress_usd_per_gb":1,"server_usd_per_hour":1,"tiers":[{"usd_per_gb":1,"from_gb":0}]}`, "tiers[0].from_gb"},
	{"TierMissingPrice", `{"egress_usd_per_gb":1,"server_usd_per_hour":1,"tiers":[{"up_to_gb":10}]}`, "tiers[0].usd_per_gb"},
	{"TierStringPrice", `{"egress_usd_per_gb":1,"server_usd_per_hour":1,"tiers":[{"up_to_gb":10,"usd_per_gb":1},{"usd_per_gb":"1"}]}`, "tiers[1].usd_per_gb"},
	{"TierOrder", `{"egress_usd_per_gb":1,"server_usd_per_hour":1,"tiers":[{"up_to_gb":10,"usd_per_gb":1},{"up_to_gb":10,"usd_per_gb":1}]}`, "tiers[1].up_to_gb"},
	{"TierNotObject", `{"egress_usd_per_gb":1,"server_usd_per_hour":1,"tiers":[1]}`, "tiers[0]"},
	{"TiersNotList", `{"egress_usd_per_gb":1,"server_usd_per_hour":1,"tiers":{}}`, "tiers"},
	{"ExtraNegative", `{"egress_usd_per_gb":1,"server_usd_per_hour":1,"extra":{"cdn_fee":-1}}`, "extra.cdn_fee"},
	{"ExtraString", `{"egress_usd_per_gb":1,"server_usd_per_hour":1,"extra":{"cdn_fee":"1"}}`, "extra.cdn_fee"},
	{"ExtraBadKey", `{"egress_usd_per_gb":1,"server_usd_per_hour":1,"extra":{"CDN fee":1}}`, "extra"},
	{"RegionNumber", `{"egress_usd_per_gb":1,"server_usd_per_hour":1,"region":5}`, "region"},
	{"AsOf", `{"egress_usd_per_gb":1,"server_usd_per_hour":1,"as_of":"31/01/2025"}`, "as_of"},
	{"ProviderMismatch", `{"provider":"gcp","egress_usd_per_gb":1,"server_usd_per_hour":1}`, "provider"},
	{"Malformed", `{"egress_usd_per_gb":1,`, ""},
	{"Garbage", `egress=1`, ""},
	{"Empty", ``, ""},
	{"Array", `[{"egress_usd_per_gb":1,"server_usd_per_hour":1}]`, ""},
	{"Trailing", `{"egress_usd_per_gb":1,"server_usd_per_hour":1} {}`, ""},
	{"TrailingHugeNumber", `{"egress_usd_per_gb":1,"server_usd_per_hour":1} 1e700`, ""},
	{"NumberThenHuge", `01E700`, ""},
}

func TestDecodePrice_Invalid(t *testing.T) {
	for _, tc := range decodeCases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodePrice(strings.NewReader(tc.body), "aws")
			var fe *FieldError
			if !errors.As(err, &fe) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("DecodePrice(%s) err=%v, want a *FieldError wrapping ErrInvalid", tc.body, err)
			}
			if got, want := fe.Field, tc.field; got != want {
				t.Fatalf("Field=%q, want %q (%v)", got, want, err)
			}
			if tc.field != "" && !strings.Contains(err.Error(), tc.field) {
				t.Fatalf("message %q does not name %q", err, tc.field)
			}
		})
	}
}

func TestDecodePrice_ReadError(t *testing.T) {
	want := errors.New("connection reset")
	_, err := DecodePrice(errReader{want}, "aws")
	if !errors.Is(err, want) || errors.Is(err, ErrInvalid) {
		t.Fatalf("err=%v, want the read error and not ErrInvalid", err)
	}
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

func TestDecodeSeed_Fixture(t *testing.T) {
	data, err := os.ReadFile("../fixtures/prices.json")
	if err != nil {
		t.Fatal(err)
	}
	rows, err := DecodeSeed(data)
	if err != nil {
		t.Fatalf("fixtures/prices.json: %v", err)
	}
	want := map[string]bool{"aws": true, "azure": true, "gcp": true}
	for _, r := range rows {
		if !want[r.Provider] {
			t.Fatalf("unexpected provider %q", r.Provider)
		}
		delete(want, r.Provider)
		if r.EgressUSDPerGB <= 0 || r.ServerUSDPerHour <= 0 {
			t.Fatalf("%s: zero cost in the fixture: %+v", r.Provider, r)
		}
		if !strings.HasPrefix(r.Source, "https://") || r.AsOf == "" || r.Notes == "" {
			t.Fatalf("%s: source, as_of and notes must say where the figures come from: %+v", r.Provider, r)
		}
		if len(r.Tiers) == 0 || r.Tiers[0].USDPerGB != r.EgressUSDPerGB {
			t.Fatalf("%s: egress_usd_per_gb %g is not the first tier %+v", r.Provider, r.EgressUSDPerGB, r.Tiers)
		}
	}
	if len(want) != 0 {
		t.Fatalf("fixture lacks %v", want)
	}
}

func TestDecodeSeed(t *testing.T) {
	for _, tc := range []struct {
		name, data, field string
		rows              int
	}{
		{"List", `{"providers":[{"provider":"aws","egress_usd_per_gb":1,"server_usd_per_hour":1}],"version":3}`, "", 1},
		{"Array", `[{"provider":"aws","egress_usd_per_gb":1,"server_usd_per_hour":1},{"provider":"gcp","egress_usd_per_gb":1,"server_usd_per_hour":1}]`, "", 2},
		{"EmptyList", `{"providers":[]}`, "", 0},
		{"NoProviders", `{}`, "providers", 0},
		{"UnknownTop", `{"providers":[],"rows":[]}`, "rows", 0},
		{"MissingName", `[{"egress_usd_per_gb":1,"server_usd_per_hour":1}]`, "providers[0].provider", 0},
		{"BadCost", `[{"provider":"aws","egress_usd_per_gb":1,"server_usd_per_hour":1},{"provider":"gcp","egress_usd_per_gb":-1,"server_usd_per_hour":1}]`, "providers[1].egress_usd_per_gb", 0},
		{"Duplicate", `[{"provider":"aws","egress_usd_per_gb":1,"server_usd_per_hour":1},{"provider":"aws","egress_usd_per_gb":2,"server_usd_per_hour":1}]`, "providers[1].provider", 0},
		{"Malformed", `{"providers":[`, "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rows, err := DecodeSeed([]byte(tc.data))
			if tc.field == "" && tc.name != "Malformed" {
				if err != nil {
					t.Fatalf("DecodeSeed: %v", err)
				}
				if got, want := len(rows), tc.rows; got != want {
					t.Fatalf("len(rows)=%d, want %d", got, want)
				}
				return
			}
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("DecodeSeed err=%v, want a *FieldError", err)
			}
			if got, want := fe.Field, tc.field; got != want {
				t.Fatalf("Field=%q, want %q (%v)", got, want, err)
			}
		})
	}
}
