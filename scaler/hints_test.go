package scaler

import (
	"testing"
	"time"
)

func headerGetter(kv map[string]string) func(string) string {
	return func(k string) string { return kv[k] }
}

func TestParseHints(t *testing.T) {
	tests := []struct {
		name string
		kv   map[string]string
		want Hints
	}{
		{"None", nil, Hints{}},
		{"All", map[string]string{"Downlink": "1.55", "Ect": "3g", "Rtt": "300", "Save-Data": "on"},
			Hints{Downlink: 1.55, ECT: ECT3G, RTT: 300 * time.Millisecond, HasRTT: true, SaveData: true}},
		{"ZeroRTTIsKnown", map[string]string{"Rtt": "0"}, Hints{HasRTT: true}},
		{"ECTCaseAndSpace", map[string]string{"Ect": " 4G "}, Hints{ECT: ECT4G}},
		{"Slow2G", map[string]string{"Ect": "slow-2g"}, Hints{ECT: ECTSlow2G}},
		{"UnknownECT", map[string]string{"Ect": "5g"}, Hints{}},
		{"BadDownlink", map[string]string{"Downlink": "fast"}, Hints{}},
		{"NegativeDownlink", map[string]string{"Downlink": "-1"}, Hints{}},
		{"ZeroDownlink", map[string]string{"Downlink": "0"}, Hints{}},
		{"InfDownlink", map[string]string{"Downlink": "+Inf"}, Hints{}},
		{"NaNDownlink", map[string]string{"Downlink": "NaN"}, Hints{}},
		{"NegativeRTT", map[string]string{"Rtt": "-5"}, Hints{}},
		{"FractionalRTT", map[string]string{"Rtt": "12.5"}, Hints{}},
		{"HugeRTT", map[string]string{"Rtt": "99999999999"}, Hints{}},
		{"SaveDataOff", map[string]string{"Save-Data": "off"}, Hints{}},
		{"SaveDataCase", map[string]string{"Save-Data": "On"}, Hints{SaveData: true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := ParseHints(headerGetter(tc.kv)); got != tc.want {
				t.Fatalf("ParseHints=%+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestHints_Empty(t *testing.T) {
	if !(Hints{}).Empty() {
		t.Fatal("zero Hints not empty")
	}
	for _, h := range []Hints{{Downlink: 1}, {ECT: ECT2G}, {HasRTT: true}, {SaveData: true}} {
		if h.Empty() {
			t.Fatalf("%+v reported empty", h)
		}
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		rate float64
		rtt  time.Duration
		want string
	}{
		{0, 0, ECT4G},
		{40e3 / 8, 0, ECTSlow2G},
		{60e3 / 8, 0, ECT2G},
		{500e3 / 8, 0, ECT3G},
		{10e6 / 8, 0, ECT4G},
		{10e6 / 8, 2500 * time.Millisecond, ECTSlow2G},
		{10e6 / 8, 1500 * time.Millisecond, ECT2G},
		{10e6 / 8, 300 * time.Millisecond, ECT3G},
		{10e6 / 8, 100 * time.Millisecond, ECT4G},
	}
	for _, tc := range tests {
		if got := classify(tc.rate, tc.rtt); got != tc.want {
			t.Errorf("classify(%v, %v)=%s, want %s", tc.rate, tc.rtt, got, tc.want)
		}
	}
}
