package scaler

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// Effective connection types, as the ECT client hint and the Network
// Information API name them.
const (
	ECTSlow2G = "slow-2g"
	ECT2G     = "2g"
	ECT3G     = "3g"
	ECT4G     = "4g"
)

// Client Hints header values. A server sends AcceptCH as Accept-CH on its
// HTML responses (the hints then come with the page's image requests;
// a CDN on another origin also needs the page to delegate them with
// Permissions-Policy), CriticalCH as Critical-CH so that the first
// navigation is retried with hints, and VaryCH as Vary on ?w=auto answers
// that picked their width from hints. Save-Data is sent without opting in;
// listing it is harmless.
const (
	AcceptCH   = "Downlink, ECT, RTT, Save-Data"
	CriticalCH = "Downlink, ECT, RTT"
	VaryCH     = "Downlink, ECT, RTT, Save-Data"
)

// Hints are the network Client Hints of one request.
type Hints struct {
	// Downlink is the client's estimated bandwidth in megabits per second
	// (Chrome rounds to 25 kbps and caps at 10). 0 means absent.
	Downlink float64

	// ECT is one of the ECT constants; "" means absent or unknown.
	ECT string

	// RTT is the client's estimated round trip (Chrome rounds to 25 ms);
	// meaningful only when HasRTT, as 0 is a valid value.
	RTT    time.Duration
	HasRTT bool

	// SaveData is true for "Save-Data: on".
	SaveData bool
}

// maxHintRTT bounds a parsed RTT hint; larger values are junk.
const maxHintRTT = 60 * time.Second

// ParseHints reads the hints through get, which returns a header value by
// its canonical name ("" when absent), e.g. http.Header.Get. Malformed,
// negative or out-of-range values are treated as absent.
func ParseHints(get func(string) string) Hints {
	var h Hints
	if v := strings.TrimSpace(get("Downlink")); v != "" {
		if f, err := strconv.ParseFloat(v, 64); err == nil && f > 0 && !math.IsInf(f, 0) {
			h.Downlink = f
		}
	}
	switch v := strings.ToLower(strings.TrimSpace(get("Ect"))); v {
	case ECTSlow2G, ECT2G, ECT3G, ECT4G:
		h.ECT = v
	}
	if v := strings.TrimSpace(get("Rtt")); v != "" {
		if ms, err := strconv.ParseInt(v, 10, 64); err == nil && ms >= 0 && time.Duration(ms)*time.Millisecond <= maxHintRTT {
			h.RTT = time.Duration(ms) * time.Millisecond
			h.HasRTT = true
		}
	}
	h.SaveData = strings.EqualFold(strings.TrimSpace(get("Save-Data")), "on")
	return h
}

// Empty reports whether h carries no network hint at all.
func (h Hints) Empty() bool {
	return h.Downlink == 0 && h.ECT == "" && !h.HasRTT && !h.SaveData
}

// ectProfile is the Network Information API's table: the RTT and downlink
// at which a connection stops counting as the type below. For 4g, which has
// no upper bound, a typical mobile figure stands in.
type ectProfile struct {
	name string
	rtt  time.Duration
	rate float64 // bytes per second
}

var ectProfiles = []ectProfile{
	{ECTSlow2G, 2000 * time.Millisecond, 50e3 / 8},
	{ECT2G, 1400 * time.Millisecond, 70e3 / 8},
	{ECT3G, 270 * time.Millisecond, 700e3 / 8},
	{ECT4G, 50 * time.Millisecond, 4e6 / 8},
}

func ectProfileOf(name string) ectProfile {
	for _, p := range ectProfiles {
		if p.name == name {
			return p
		}
	}
	return ectProfiles[len(ectProfiles)-1]
}

// classify names the effective connection type of a rate (bytes/s, 0 =
// unknown) and RTT (0 = unknown) with the Network Information API's
// thresholds: the slowest type whose RTT or rate bound is met.
func classify(rate float64, rtt time.Duration) string {
	for _, p := range ectProfiles[:3] {
		if rtt >= p.rtt || (rate > 0 && rate <= p.rate) {
			return p.name
		}
	}
	return ECT4G
}
