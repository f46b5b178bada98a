package pricedb

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"time"
)

// Limits on a row's optional fields, so that one row stays small.
const (
	MaxTiers       = 16
	MaxExtra       = 32
	MaxStringLen   = 1024 // region, source, notes
	maxProviderLen = 63
)

// Price is one provider's row. Costs are US dollars, finite and >= 0.
type Price struct {
	// Provider names the row: lowercase, [a-z0-9][a-z0-9-]{0,62}.
	Provider string `json:"provider"`
	// EgressUSDPerGB is the network cost per GB sent out to the internet
	// (the first paid tier when Tiers is set).
	EgressUSDPerGB float64 `json:"egress_usd_per_gb"`
	// ServerUSDPerHour is what one server (VM) costs per hour.
	ServerUSDPerHour float64 `json:"server_usd_per_hour"`
	// RequestUSDPer10k is a per-request charge per 10,000 requests; nil
	// means the provider charges none (or none is known).
	RequestUSDPer10k *float64 `json:"request_usd_per_10k,omitempty"`
	// Region is where the prices apply, e.g. "us-east-1"; empty if unsaid.
	Region string `json:"region,omitempty"`
	// Tiers is the egress price by monthly volume, in increasing UpToGB;
	// only the last tier may leave UpToGB zero (no upper bound).
	Tiers []Tier `json:"tiers,omitempty"`
	// Source is where the figures come from, e.g. the pricing page URL.
	Source string `json:"source,omitempty"`
	// AsOf is the date (YYYY-MM-DD) the figures were read.
	AsOf string `json:"as_of,omitempty"`
	// Notes says what the figures mean (which tier, which VM size).
	Notes string `json:"notes,omitempty"`
	// Extra holds further named costs (lowercase [a-z0-9_] names).
	Extra map[string]float64 `json:"extra,omitempty"`

	// Version is the global version at which the row last changed; set by
	// the Store, ignored on input.
	Version uint64 `json:"version"`
	// UpdatedAt is when the row last changed; set by the Store, ignored on
	// input.
	UpdatedAt time.Time `json:"updated_at"`
}

// Tier is one band of a tiered egress price.
type Tier struct {
	// UpToGB is the monthly volume (GB) where the band ends; zero means
	// unbounded and is allowed on the last band only.
	UpToGB   float64 `json:"up_to_gb,omitempty"`
	USDPerGB float64 `json:"usd_per_gb"`
}

var (
	providerRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)
	extraRE    = regexp.MustCompile(`^[a-z0-9][a-z0-9_]{0,62}$`)
)

// ValidateProvider returns a *FieldError (wrapping ErrInvalid) unless name
// is a valid provider name.
func ValidateProvider(name string) error {
	if !providerRE.MatchString(name) {
		return fieldErr("provider", "must be 1-%d characters of lowercase letters, digits and '-', starting with a letter or digit (got %q)", maxProviderLen, truncate(name, 80))
	}
	return nil
}

// Validate checks every field of p and returns the first problem as a
// *FieldError wrapping ErrInvalid.
func (p *Price) Validate() error {
	if err := ValidateProvider(p.Provider); err != nil {
		return err
	}
	if err := checkCost("egress_usd_per_gb", p.EgressUSDPerGB); err != nil {
		return err
	}
	if err := checkCost("server_usd_per_hour", p.ServerUSDPerHour); err != nil {
		return err
	}
	if p.RequestUSDPer10k != nil {
		if err := checkCost("request_usd_per_10k", *p.RequestUSDPer10k); err != nil {
			return err
		}
	}
	for _, f := range []struct{ name, v string }{{"region", p.Region}, {"source", p.Source}, {"notes", p.Notes}} {
		if len(f.v) > MaxStringLen {
			return fieldErr(f.name, "is longer than %d bytes", MaxStringLen)
		}
	}
	if p.AsOf != "" {
		if _, err := time.Parse(time.DateOnly, p.AsOf); err != nil {
			return fieldErr("as_of", "must be a date like 2025-01-31 (got %q)", truncate(p.AsOf, 40))
		}
	}
	if len(p.Tiers) > MaxTiers {
		return fieldErr("tiers", "has more than %d tiers", MaxTiers)
	}
	prev := 0.0
	for i, t := range p.Tiers {
		name := fmt.Sprintf("tiers[%d]", i)
		if err := checkCost(name+".usd_per_gb", t.USDPerGB); err != nil {
			return err
		}
		last := i == len(p.Tiers)-1
		switch {
		case t.UpToGB == 0 && !last:
			return fieldErr(name+".up_to_gb", "is required on every tier but the last")
		case t.UpToGB == 0:
		case math.IsNaN(t.UpToGB) || math.IsInf(t.UpToGB, 0) || t.UpToGB < 0:
			return fieldErr(name+".up_to_gb", "must be a finite number > 0")
		case t.UpToGB <= prev:
			return fieldErr(name+".up_to_gb", "must be greater than the previous tier's (%g)", prev)
		}
		prev = t.UpToGB
	}
	if len(p.Extra) > MaxExtra {
		return fieldErr("extra", "has more than %d entries", MaxExtra)
	}
	for _, k := range sortedKeys(p.Extra) {
		if !extraRE.MatchString(k) {
			return fieldErr("extra", "key %q must be 1-63 characters of lowercase letters, digits and '_'", truncate(k, 80))
		}
		if err := checkCost("extra."+k, p.Extra[k]); err != nil {
			return err
		}
	}
	return nil
}

// sameContent reports whether a and b hold the same prices, ignoring the
// fields the Store sets.
func sameContent(a, b Price) bool {
	a.Version, b.Version = 0, 0
	a.UpdatedAt, b.UpdatedAt = time.Time{}, time.Time{}
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(ja, jb)
}

func checkCost(field string, v float64) error {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return fieldErr(field, "must be a finite number")
	case v < 0:
		return fieldErr(field, "must be >= 0 (got %g)", v)
	}
	return nil
}

// priceInput is the wire form of a row: pointers tell a missing cost from
// zero, raw values let errors name the exact tier or extra key.
type priceInput struct {
	Provider         *string                    `json:"provider"`
	EgressUSDPerGB   json.RawMessage            `json:"egress_usd_per_gb"`
	ServerUSDPerHour json.RawMessage            `json:"server_usd_per_hour"`
	RequestUSDPer10k json.RawMessage            `json:"request_usd_per_10k"`
	Region           *string                    `json:"region"`
	Tiers            []json.RawMessage          `json:"tiers"`
	Source           *string                    `json:"source"`
	AsOf             *string                    `json:"as_of"`
	Notes            *string                    `json:"notes"`
	Extra            map[string]json.RawMessage `json:"extra"`
	// Accepted and ignored, so a row fetched by GET can be PUT back.
	Version   json.RawMessage `json:"version"`
	UpdatedAt json.RawMessage `json:"updated_at"`
}

type tierInput struct {
	UpToGB   json.RawMessage `json:"up_to_gb"`
	USDPerGB json.RawMessage `json:"usd_per_gb"`
}

// DecodePrice reads one JSON row from r and validates it. provider, if not
// empty, is the row's name (from the URL): the body may then omit
// "provider" but must not name another. Other top-level numbers are
// named costs (see decodeRow). Unknown fields that are not numbers,
// trailing data, missing required costs, non-numbers, negative or
// non-finite numbers are errors; each is a *FieldError wrapping
// ErrInvalid that names the field. Errors reading r itself (such as
// *http.MaxBytesError) are returned wrapped, not as ErrInvalid. "version"
// and "updated_at" are accepted and ignored.
func DecodePrice(r io.Reader, provider string) (Price, error) {
	dec := json.NewDecoder(r)
	var raw json.RawMessage
	if err := decodeErr("", dec.Decode(&raw)); err != nil {
		return Price{}, err
	}
	in, err := decodeRow("", raw)
	if err != nil {
		return Price{}, err
	}
	if err := expectEOF(dec); err != nil {
		return Price{}, err
	}
	p, err := in.price("")
	if err != nil {
		return Price{}, err
	}
	switch {
	case provider == "" && in.Provider == nil:
		return Price{}, fieldErr("provider", "is required")
	case provider != "" && in.Provider != nil && *in.Provider != provider:
		return Price{}, fieldErr("provider", "is %q in the body but %q in the URL", truncate(*in.Provider, 80), provider)
	case provider != "":
		p.Provider = provider
	}
	if err := p.Validate(); err != nil {
		return Price{}, err
	}
	return p, nil
}

// DecodeSeed reads a seed file: either the body of GET /v1/prices
// ({"providers": [...], "version": N}, the version ignored) or a bare JSON
// array of rows. Every row must name its provider, and no provider may
// appear twice.
func DecodeSeed(data []byte) ([]Price, error) {
	data = bytes.TrimSpace(data)
	var raws []json.RawMessage
	if len(data) > 0 && data[0] == '[' {
		if err := decodeErr("", json.Unmarshal(data, &raws)); err != nil {
			return nil, err
		}
	} else {
		var doc struct {
			Providers []json.RawMessage `json:"providers"`
			Version   json.RawMessage   `json:"version"`
		}
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err := decodeErr("", dec.Decode(&doc)); err != nil {
			return nil, err
		}
		if err := expectEOF(dec); err != nil {
			return nil, err
		}
		if doc.Providers == nil {
			return nil, fieldErr("providers", "is required (a list of price rows)")
		}
		raws = doc.Providers
	}
	seen := make(map[string]bool, len(raws))
	out := make([]Price, 0, len(raws))
	for i, raw := range raws {
		prefix := fmt.Sprintf("providers[%d].", i)
		in, err := decodeRow(prefix, raw)
		if err != nil {
			return nil, err
		}
		if in.Provider == nil {
			return nil, fieldErr(prefix+"provider", "is required in a seed file")
		}
		p, err := in.price(prefix)
		if err != nil {
			return nil, err
		}
		if err := p.Validate(); err != nil {
			var fe *FieldError
			if errors.As(err, &fe) && fe.Field != "" {
				fe.Field = prefix + fe.Field
			}
			return nil, err
		}
		if seen[p.Provider] {
			return nil, fieldErr(prefix+"provider", "repeats %q", p.Provider)
		}
		seen[p.Provider] = true
		out = append(out, p)
	}
	return out, nil
}

// rowFields are the JSON names of priceInput's fields.
var rowFields = func() map[string]bool {
	names := make(map[string]bool)
	t := reflect.TypeOf(priceInput{})
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		names[name] = true
	}
	return names
}()

// decodeRow parses one row's JSON object. A top-level field it does not
// know is a further named cost, as one in "extra" is ("any other cost
// field" of a PUT): it must be a number >= 0 under a name extra takes,
// and not in extra too. A field that is not a number is refused as
// unknown, so a misspelt "regoin" still gets a 400.
func decodeRow(prefix string, raw []byte) (priceInput, error) {
	var in priceInput
	var fields map[string]json.RawMessage
	if err := decodeErr(prefix, json.Unmarshal(raw, &fields)); err != nil {
		return in, err
	}
	if fields == nil {
		return in, fieldErr(strings.TrimSuffix(prefix, "."), "must be a JSON object, got null")
	}
	costs := make(map[string]json.RawMessage)
	for name, v := range fields {
		if !rowFields[name] {
			costs[name] = v
			delete(fields, name)
		}
	}
	known, err := json.Marshal(fields)
	if err != nil {
		return in, fmt.Errorf("decode price: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(known))
	dec.DisallowUnknownFields()
	if err := decodeErr(prefix, dec.Decode(&in)); err != nil {
		return in, err
	}
	for _, name := range sortedKeys(costs) {
		v := costs[name]
		var cost float64
		if raw := bytes.TrimSpace(v); len(raw) == 0 || raw[0] != '-' && (raw[0] < '0' || raw[0] > '9') {
			return in, fieldErr(prefix+name, "is not a known field; any other field is a cost and takes a number >= 0, got %s", jsonKind(v))
		}
		if json.Unmarshal(v, &cost) != nil {
			return in, fieldErr(prefix+name, "must be a number, got %s", jsonKind(v))
		}
		if err := checkCost(prefix+name, cost); err != nil {
			return in, err
		}
		if !extraRE.MatchString(name) {
			return in, fieldErr(prefix+truncate(name, 80), "is not a known field; a cost's name is 1-63 characters of lowercase letters, digits and '_'")
		}
		if _, dup := in.Extra[name]; dup {
			return in, fieldErr(prefix+name, "is given both as a field and in extra")
		}
		if in.Extra == nil {
			in.Extra = make(map[string]json.RawMessage)
		}
		in.Extra[name] = v
	}
	return in, nil
}

func (in *priceInput) price(prefix string) (Price, error) {
	var p Price
	var err error
	if in.Provider != nil {
		p.Provider = *in.Provider
	}
	if p.EgressUSDPerGB, err = requiredNumber(prefix+"egress_usd_per_gb", in.EgressUSDPerGB); err != nil {
		return Price{}, err
	}
	if p.ServerUSDPerHour, err = requiredNumber(prefix+"server_usd_per_hour", in.ServerUSDPerHour); err != nil {
		return Price{}, err
	}
	if !isNull(in.RequestUSDPer10k) {
		v, err := requiredNumber(prefix+"request_usd_per_10k", in.RequestUSDPer10k)
		if err != nil {
			return Price{}, err
		}
		p.RequestUSDPer10k = &v
	}
	p.Region = deref(in.Region)
	p.Source = deref(in.Source)
	p.AsOf = deref(in.AsOf)
	p.Notes = deref(in.Notes)
	if len(in.Tiers) > MaxTiers {
		return Price{}, fieldErr(prefix+"tiers", "has more than %d tiers", MaxTiers)
	}
	for i, raw := range in.Tiers {
		name := fmt.Sprintf("%stiers[%d]", prefix, i)
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		var ti tierInput
		if err := decodeErr(name+".", dec.Decode(&ti)); err != nil {
			return Price{}, err
		}
		var t Tier
		if t.USDPerGB, err = requiredNumber(name+".usd_per_gb", ti.USDPerGB); err != nil {
			return Price{}, err
		}
		if !isNull(ti.UpToGB) {
			if t.UpToGB, err = requiredNumber(name+".up_to_gb", ti.UpToGB); err != nil {
				return Price{}, err
			}
		}
		p.Tiers = append(p.Tiers, t)
	}
	if len(in.Extra) > MaxExtra {
		return Price{}, fieldErr(prefix+"extra", "has more than %d entries", MaxExtra)
	}
	if len(in.Extra) > 0 {
		p.Extra = make(map[string]float64, len(in.Extra))
		for _, k := range sortedKeys(in.Extra) {
			v, err := requiredNumber(prefix+"extra."+k, in.Extra[k])
			if err != nil {
				return Price{}, err
			}
			p.Extra[k] = v
		}
	}
	return p, nil
}

// requiredNumber parses raw as a JSON number; absent or null is "missing".
func requiredNumber(field string, raw json.RawMessage) (float64, error) {
	if isNull(raw) {
		return 0, fieldErr(field, "is required (a number >= 0)")
	}
	var v float64
	if err := json.Unmarshal(raw, &v); err != nil {
		return 0, fieldErr(field, "must be a number, got %s", jsonKind(raw))
	}
	return v, nil
}

func isNull(raw json.RawMessage) bool {
	return len(raw) == 0 || string(bytes.TrimSpace(raw)) == "null"
}

// jsonKind names what a JSON value is, for error messages.
func jsonKind(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '"':
		return "a string " + truncate(string(raw), 40)
	case '{':
		return "an object"
	case '[':
		return "a list"
	case 't', 'f':
		return "a boolean"
	default:
		return "a number out of range " + truncate(string(raw), 40)
	}
}

// decodeErr turns encoding/json's errors into *FieldError and leaves read
// errors (a body over its limit, a broken connection) as they are.
func decodeErr(prefix string, err error) error {
	if err == nil {
		return nil
	}
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.Is(err, io.EOF):
		if prefix == "" {
			return fieldErr("", "body is empty: expected a JSON object")
		}
		return fieldErr(strings.TrimSuffix(prefix, "."), "is empty")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fieldErr(strings.TrimSuffix(prefix, "."), "malformed JSON: unexpected end of input")
	case errors.As(err, &syn):
		return fieldErr(strings.TrimSuffix(prefix, "."), "malformed JSON at byte %d: %s", syn.Offset, syn.Error())
	case errors.As(err, &typ):
		if typ.Field == "" {
			return fieldErr(strings.TrimSuffix(prefix, "."), "must be a JSON object, got %s", typ.Value)
		}
		return fieldErr(prefix+typ.Field, "must be %s, got %s", kindOf(typ.Type.Kind().String()), typ.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return fieldErr(prefix+name, "is not a known field")
	}
	return fmt.Errorf("decode price: %w", err)
}

func kindOf(k string) string {
	switch k {
	case "ptr", "string":
		return "a string"
	case "slice":
		return "a list"
	case "map":
		return "an object"
	}
	return "a " + k
}

func expectEOF(dec *json.Decoder) error {
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		if err != nil && !isJSONErr(err) {
			return fmt.Errorf("decode price: %w", err)
		}
		return fieldErr("", "unexpected data after the JSON object")
	}
	return nil
}

func isJSONErr(err error) bool {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError // a number out of float64's range
	return errors.As(err, &syn) || errors.As(err, &typ) || errors.Is(err, io.ErrUnexpectedEOF)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
