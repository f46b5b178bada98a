package scaler

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// A 4000x3000 photo with the default variants: at DefaultBytesPerPixel the
// estimates are 160:4800, 320:19200, 640:76800, 1280:307200,
// 4000:3000000 bytes.
var (
	chooseWidths = []int{160, 320, 640, 1280}
	chooseCfg    = ChooseConfig{OrigHeight: 3000}
)

const origW = 4000

func TestChoose(t *testing.T) {
	none := Estimate{Source: SourceNone}
	tcpFast := Estimate{BytesPerSec: 2e6, RTT: 20 * time.Millisecond, Source: SourceTCPInfo, Samples: 3}
	histSlow := Estimate{BytesPerSec: 30e3, Source: SourceHistory, Samples: 2}
	ms := time.Millisecond
	tests := []struct {
		name     string
		h        Hints
		est      Estimate
		widths   []int
		cfg      ChooseConfig
		want     int
		class    string
		evidence string
	}{
		// No evidence at all: 2 Mbps default gets 640 (76.8 kB), not 1280 (307 kB).
		{"Nothing", Hints{}, none, chooseWidths, chooseCfg, 640, ClassUnknown, EvidenceDefault},
		{"ZeroEstimateIgnored", Hints{}, Estimate{Source: SourceTCPInfo}, chooseWidths, chooseCfg, 640, ClassUnknown, EvidenceDefault},
		{"EstimateWithoutSourceIgnored", Hints{}, Estimate{BytesPerSec: 1e9}, chooseWidths, chooseCfg, 640, ClassUnknown, EvidenceDefault},
		// Save-Data beats every other signal.
		{"SaveData", Hints{SaveData: true}, none, chooseWidths, chooseCfg, 160, ClassSaveData, EvidenceSaveData},
		{"SaveDataFastLink", Hints{SaveData: true, Downlink: 10, ECT: ECT4G, RTT: 0, HasRTT: true}, tcpFast, chooseWidths, chooseCfg, 160, ClassSaveData, EvidenceSaveData},
		{"SaveDataNoVariants", Hints{SaveData: true}, none, nil, chooseCfg, origW, ClassSaveData, EvidenceSaveData},
		// Downlink alone: 10 Mbps = 1.25 MB/s, 1280 fits, the 3 MB original not.
		{"Downlink10", Hints{Downlink: 10}, none, chooseWidths, chooseCfg, 1280, ECT4G, EvidenceClientHints},
		{"Downlink1.5", Hints{Downlink: 1.5}, none, chooseWidths, chooseCfg, 640, ECT4G, EvidenceClientHints},
		{"Downlink0.4", Hints{Downlink: 0.4}, none, chooseWidths, chooseCfg, 320, ECT3G, EvidenceClientHints},
		{"Downlink0.06", Hints{Downlink: 0.06}, none, chooseWidths, chooseCfg, 160, ECT2G, EvidenceClientHints},
		{"Downlink0.03", Hints{Downlink: 0.03}, none, chooseWidths, chooseCfg, 160, ECTSlow2G, EvidenceClientHints},
		{"Downlink100Original", Hints{Downlink: 100}, none, chooseWidths, chooseCfg, origW, ECT4G, EvidenceClientHints},
		// Downlink with RTT: the round trip eats into the 1 s budget.
		{"DownlinkRTTLow", Hints{Downlink: 10, RTT: 50 * ms, HasRTT: true}, none, chooseWidths, chooseCfg, 1280, ECT4G, EvidenceClientHints},
		{"DownlinkRTTHigh", Hints{Downlink: 10, RTT: 800 * ms, HasRTT: true}, none, chooseWidths, chooseCfg, 640, ECT3G, EvidenceClientHints},
		{"DownlinkRTTOverBudget", Hints{Downlink: 10, RTT: 1200 * ms, HasRTT: true}, none, chooseWidths, chooseCfg, 160, ECT3G, EvidenceClientHints},
		// Downlink with ECT: ECT names the class, Downlink sets the rate.
		{"DownlinkECT", Hints{Downlink: 10, ECT: ECT3G}, none, chooseWidths, chooseCfg, 1280, ECT3G, EvidenceClientHints},
		{"DownlinkECTRTT", Hints{Downlink: 10, ECT: ECT4G, RTT: 100 * ms, HasRTT: true}, none, chooseWidths, chooseCfg, 1280, ECT4G, EvidenceClientHints},
		// ECT alone: the Network Information table.
		{"ECT4G", Hints{ECT: ECT4G}, none, chooseWidths, chooseCfg, 1280, ECT4G, EvidenceClientHints},
		{"ECT3G", Hints{ECT: ECT3G}, none, chooseWidths, chooseCfg, 320, ECT3G, EvidenceClientHints},
		{"ECT2G", Hints{ECT: ECT2G}, none, chooseWidths, chooseCfg, 160, ECT2G, EvidenceClientHints},
		{"ECTSlow2G", Hints{ECT: ECTSlow2G}, none, chooseWidths, chooseCfg, 160, ECTSlow2G, EvidenceClientHints},
		{"ECTWithRTT", Hints{ECT: ECT3G, RTT: 0, HasRTT: true}, none, chooseWidths, chooseCfg, 640, ECT3G, EvidenceClientHints},
		// RTT alone: classed by ECT thresholds.
		{"RTTOnlyFast", Hints{RTT: 25 * ms, HasRTT: true}, none, chooseWidths, chooseCfg, 1280, ECT4G, EvidenceClientHints},
		{"RTTOnly3G", Hints{RTT: 300 * ms, HasRTT: true}, none, chooseWidths, chooseCfg, 320, ECT3G, EvidenceClientHints},
		{"RTTOnlySlow", Hints{RTT: 2500 * ms, HasRTT: true}, none, chooseWidths, chooseCfg, 160, ECTSlow2G, EvidenceClientHints},
		// Hints win over the server's estimate.
		{"HintsBeatEstimate", Hints{ECT: ECT2G}, tcpFast, chooseWidths, chooseCfg, 160, ECT2G, EvidenceClientHints},
		// Server estimate when no hints.
		{"TCPInfoFast", Hints{}, tcpFast, chooseWidths, chooseCfg, 1280, ECT4G, SourceTCPInfo},
		{"HistorySlow", Hints{}, histSlow, chooseWidths, chooseCfg, 320, ECT3G, SourceHistory},
		// Configuration and image facts.
		{"LongerTarget", Hints{ECT: ECT3G}, none, chooseWidths, ChooseConfig{OrigHeight: 3000, TargetTime: 5 * time.Second}, 1280, ECT3G, EvidenceClientHints},
		{"KnownVariantSizes", Hints{Downlink: 1.5}, none, chooseWidths, ChooseConfig{OrigHeight: 3000, VariantBytes: map[int]int64{640: 300e3, 320: 90e3}}, 320, ECT4G, EvidenceClientHints},
		{"OrigBytesScaled", Hints{Downlink: 1.5}, none, chooseWidths, ChooseConfig{OrigBytes: 12e6}, 320, ECT4G, EvidenceClientHints},
		{"WidthsAboveOriginalIgnored", Hints{Downlink: 100}, none, []int{160, 5000}, chooseCfg, origW, ECT4G, EvidenceClientHints},
		{"DefaultRateConfigured", Hints{}, none, chooseWidths, ChooseConfig{OrigHeight: 3000, DefaultRate: 1e6}, 1280, ClassUnknown, EvidenceDefault},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := Choose(tc.h, tc.est, tc.widths, origW, tc.cfg)
			if c.Width != tc.want || c.Class != tc.class || c.Evidence != tc.evidence {
				t.Fatalf("Choose=%+v\nwant width %d class %s evidence %s", c, tc.want, tc.class, tc.evidence)
			}
			if c.Original != (c.Width == origW) {
				t.Fatalf("Original=%v for width %d", c.Original, c.Width)
			}
			if c.Reason == "" || c.Bytes <= 0 {
				t.Fatalf("Choice %+v lacks reason or bytes", c)
			}
		})
	}
}

func TestChoose_NothingToChoose(t *testing.T) {
	c := Choose(Hints{Downlink: 10}, Estimate{}, nil, 0, ChooseConfig{})
	if c.Width != 0 || c.Reason == "" {
		t.Fatalf("Choose with no widths = %+v", c)
	}
}

// TestChoose_AllHintCombinations runs every combination of hint values
// (absent and present forms of each header) against three server estimates
// and checks the rules that must hold for each: Save-Data first, hints
// before the estimate, the estimate before the default, the class following
// the strongest hint, and widths that never shrink as the link speeds up.
func TestChoose_AllHintCombinations(t *testing.T) {
	saveDatas := []string{"", "on", "off"}
	ects := []string{"", ECTSlow2G, ECT2G, ECT3G, ECT4G, "bogus"}
	downlinks := []string{"", "0.03", "0.5", "1.5", "10", "junk"}
	rtts := []string{"", "0", "100", "400", "1500", "2500"}
	ests := []Estimate{
		{Source: SourceNone},
		{BytesPerSec: 40e3, RTT: 150 * time.Millisecond, Source: SourceHistory, Samples: 1},
		{BytesPerSec: 5e6, RTT: 10 * time.Millisecond, Source: SourceTCPInfo, Samples: 4},
	}
	n := 0
	for _, sd := range saveDatas {
		for _, ect := range ects {
			for _, dl := range downlinks {
				for _, rtt := range rtts {
					for _, est := range ests {
						kv := map[string]string{"Save-Data": sd, "Ect": ect, "Downlink": dl, "Rtt": rtt}
						h := ParseHints(headerGetter(kv))
						c := Choose(h, est, chooseWidths, origW, chooseCfg)
						name := fmt.Sprintf("save-data=%q ect=%q downlink=%q rtt=%q est=%s", sd, ect, dl, rtt, est.Source)
						checkChoice(t, name, h, est, c)
						n++
					}
				}
			}
		}
	}
	if want := len(saveDatas) * len(ects) * len(downlinks) * len(rtts) * len(ests); n != want {
		t.Fatalf("ran %d combinations, want %d", n, want)
	}
}

func checkChoice(t *testing.T, name string, h Hints, est Estimate, c Choice) {
	t.Helper()
	if c.Width <= 0 || c.Width > origW {
		t.Fatalf("%s: width %d", name, c.Width)
	}
	if !strings.HasPrefix(c.Reason, c.Evidence) {
		t.Fatalf("%s: reason %q does not start with evidence %q", name, c.Reason, c.Evidence)
	}
	switch {
	case h.SaveData:
		if c.Width != 160 || c.Class != ClassSaveData || c.Evidence != EvidenceSaveData {
			t.Fatalf("%s: %+v, want smallest width for save-data", name, c)
		}
		return
	case h.Downlink > 0 || h.ECT != "" || h.HasRTT:
		if c.Evidence != EvidenceClientHints {
			t.Fatalf("%s: evidence %s, want client hints", name, c.Evidence)
		}
		if h.ECT != "" && c.Class != h.ECT {
			t.Fatalf("%s: class %s, want the ECT hint %s", name, c.Class, h.ECT)
		}
		if h.Downlink > 0 && c.Rate != h.Downlink*1e6/8 {
			t.Fatalf("%s: rate %v ignores Downlink %v", name, c.Rate, h.Downlink)
		}
		if h.HasRTT && c.RTT != h.RTT {
			t.Fatalf("%s: rtt %v ignores RTT hint %v", name, c.RTT, h.RTT)
		}
	case est.Source != SourceNone:
		if c.Evidence != est.Source || c.Rate != est.BytesPerSec {
			t.Fatalf("%s: %+v, want the %s estimate", name, c, est.Source)
		}
	default:
		if c.Evidence != EvidenceDefault || c.Class != ClassUnknown {
			t.Fatalf("%s: %+v, want the default", name, c)
		}
	}
	switch c.Class {
	case ECTSlow2G, ECT2G, ECT3G, ECT4G, ClassUnknown:
	default:
		t.Fatalf("%s: class %q not in the set", name, c.Class)
	}
	// A faster link never gets a smaller image.
	if h.Downlink > 0 {
		faster := h
		faster.Downlink *= 2
		if f := Choose(faster, est, chooseWidths, origW, chooseCfg); f.Width < c.Width {
			t.Fatalf("%s: doubling downlink shrank width %d to %d", name, c.Width, f.Width)
		}
	}
	// Nor does a shorter round trip.
	if h.HasRTT && h.RTT > 0 {
		quicker := h
		quicker.RTT /= 2
		if q := Choose(quicker, est, chooseWidths, origW, chooseCfg); q.Width < c.Width {
			t.Fatalf("%s: halving rtt shrank width %d to %d", name, c.Width, q.Width)
		}
	}
}

func TestChoose_Deterministic(t *testing.T) {
	cfg := ChooseConfig{VariantBytes: map[int]int64{160: 5e3, 1280: 200e3, 320: 20e3}, OrigBytes: 3e6}
	first := Choose(Hints{Downlink: 0.9}, Estimate{}, chooseWidths, origW, cfg)
	for i := 0; i < 50; i++ {
		if c := Choose(Hints{Downlink: 0.9}, Estimate{}, chooseWidths, origW, cfg); c != first {
			t.Fatalf("Choose not deterministic: %+v vs %+v", c, first)
		}
	}
}

func TestEstimateBytes(t *testing.T) {
	cfg := ChooseConfig{OrigHeight: 3000, OrigBytes: 3_000_000, VariantBytes: map[int]int64{640: 100_000}}.withDefaults()
	tests := []struct {
		w    int
		want int64
	}{
		{640, 100_000},    // known
		{4000, 3_000_000}, // the original
		{320, 25_000},     // from 640, by area
		{1280, 400_000},   // from 640
		{2000, 750_000},   // nearer the original than 640
		{1000, 244_141},   // nearer 640: 100000*(1000/640)^2
	}
	for _, tc := range tests {
		if got := cfg.estimateBytes(tc.w, 4000); got != tc.want {
			t.Errorf("estimateBytes(%d)=%d, want %d", tc.w, got, tc.want)
		}
	}
	bare := ChooseConfig{}.withDefaults()
	if got, want := bare.estimateBytes(400, 0), int64(400*300/4); got != want {
		t.Errorf("estimateBytes with nothing known=%d, want %d (4:3 at 0.25 B/px)", got, want)
	}
}

// TestChoose_SkipsVariantsLargerThanWider: a flat graphic whose scaled
// variants encode larger than the original. A slow or save-data client
// gets the original, which is both sharper and fewer bytes.
func TestChoose_SkipsVariantsLargerThanWider(t *testing.T) {
	cfg := ChooseConfig{OrigHeight: 600, OrigBytes: 20_000,
		VariantBytes: map[int]int64{160: 9_000, 320: 25_000, 640: 30_000}}
	widths := []int{160, 320, 640}
	const w = 800
	slow := Hints{Downlink: 0.01}
	for _, tc := range []struct {
		name string
		h    Hints
		cfg  ChooseConfig
		want int
	}{
		// 160 stays: 9 kB is fewer bytes than anything wider.
		{"SaveData", Hints{SaveData: true}, cfg, 160},
		{"Slow", slow, cfg, 160},
		// 160 costs as much as the original: the original wins.
		{"SaveDataEqualBytes", Hints{SaveData: true}, ChooseConfig{OrigHeight: 600, OrigBytes: 9_000, VariantBytes: cfg.VariantBytes}, w},
		// 1.25 MB/s: everything fits; the widest (the original) is picked.
		{"Fast", Hints{Downlink: 10}, cfg, w},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if c := Choose(tc.h, Estimate{}, widths, w, tc.cfg); c.Width != tc.want {
				t.Fatalf("Choose picked %d (%s), want %d", c.Width, c.Reason, tc.want)
			}
		})
	}
	// Middle widths larger than the original never get picked.
	for rate := 0.001; rate < 100; rate *= 1.5 {
		if c := Choose(Hints{Downlink: rate}, Estimate{}, widths, w, cfg); c.Width == 320 || c.Width == 640 {
			t.Fatalf("at %.3f Mbit/s Choose picked %d, larger than the original", rate, c.Width)
		}
	}
}
