package scenario

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
)

// Scenario is one fixtures/scenarios/*.json file.
type Scenario struct {
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Weight      float64  `json:"weight"` // the combined policy's network weight
	Servers     []Server `json:"servers"`
	// Prices are the rows PUT into the price service, by provider.
	Prices map[string]Price `json:"prices"`
	Checks []Check          `json:"checks"`
}

// Server is one server's link in a scenario.
type Server struct {
	ID        string `json:"id"`
	Provider  string `json:"provider"`
	LatencyMs int64  `json:"latency_ms"`
	// BandwidthKBps caps what the server sends, per connection; zero means
	// no cap.
	BandwidthKBps int64 `json:"bandwidth_kbps"`
}

// Price is one provider's price row.
type Price struct {
	Egress float64 `json:"egress_usd_per_gb"`
	Hour   float64 `json:"server_usd_per_hour"`
}

// Check names an object and the server each policy must pick for it.
type Check struct {
	Object string            `json:"object"`
	Expect map[string]string `json:"expect"` // policy -> server id
}

// Objects are uploaded before the first scenario; checks name them.
var Objects = map[string]int{"small": 1 << 10, "big": 256 << 10}

// Load reads every *.json in dir, in name order. Unknown fields are an
// error, so a typo in a scenario file does not silently drop a setting.
func Load(dir string) ([]Scenario, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, fmt.Errorf("load scenarios: %w", err)
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("load scenarios: %w in %s", ErrNoScenarios, dir)
	}
	sort.Strings(paths)
	var out []Scenario
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("load scenarios: %w", err)
		}
		var sc Scenario
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&sc); err != nil {
			return nil, fmt.Errorf("load scenarios: %s: %w", p, err)
		}
		if err := sc.validate(); err != nil {
			return nil, fmt.Errorf("load scenarios: %s: %w", p, err)
		}
		out = append(out, sc)
	}
	return out, nil
}

func (sc *Scenario) validate() error {
	if sc.Name == "" {
		return fmt.Errorf("%w: no name", ErrInvalid)
	}
	if len(sc.Servers) == 0 {
		return fmt.Errorf("%w: no servers", ErrInvalid)
	}
	for _, ck := range sc.Checks {
		if _, ok := Objects[ck.Object]; !ok {
			return fmt.Errorf("%w: unknown object %q", ErrInvalid, ck.Object)
		}
	}
	return nil
}

// SeedJSON is a price service seed file holding sc's prices.
func SeedJSON(sc Scenario) []byte {
	type row struct {
		Provider string  `json:"provider"`
		Egress   float64 `json:"egress_usd_per_gb"`
		Hour     float64 `json:"server_usd_per_hour"`
	}
	var rows []row
	for provider, p := range sc.Prices {
		rows = append(rows, row{provider, p.Egress, p.Hour})
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].Provider < rows[j].Provider })
	b, _ := json.Marshal(map[string]any{"providers": rows})
	return b
}
