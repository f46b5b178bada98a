package scaler

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// Classes of a Choice, a small set a cache can key ?w=auto answers on.
const (
	ClassSaveData = "save-data"
	ClassUnknown  = "unknown"
	// The others are the ECT constants.
)

// Evidence names what a Choice was based on.
const (
	EvidenceSaveData    = "save-data"
	EvidenceClientHints = "client-hints"
	EvidenceDefault     = "default"
	// Otherwise the Estimate's Source: SourceTCPInfo or SourceHistory.
)

// Defaults for the zero fields of ChooseConfig.
const (
	DefaultTargetTime    = time.Second
	DefaultRate          = 2e6 / 8 // bytes/s: 2 Mbps, for clients nothing is known of
	DefaultBytesPerPixel = 0.25    // a JPEG photo at quality 80 runs near 2 bits per pixel
)

// ChooseConfig holds the policy of Choose and the facts about the image it
// chooses for. Zero fields take the defaults noted.
type ChooseConfig struct {
	// TargetTime is how long a transfer may take, round trip included.
	// 0 means DefaultTargetTime.
	TargetTime time.Duration

	// DefaultRate in bytes/s is assumed when neither hints nor an estimate
	// say anything. 0 means DefaultRate.
	DefaultRate float64

	// BytesPerPixel estimates encoded sizes when no size is known. 0 means
	// DefaultBytesPerPixel.
	BytesPerPixel float64

	// OrigHeight is the original's height; 0 assumes 4:3.
	OrigHeight int

	// OrigBytes is the original's encoded size; 0 means unknown.
	OrigBytes int64

	// VariantBytes holds known encoded sizes by width, e.g. of precomputed
	// variants. Unknown widths are estimated from the nearest known one.
	VariantBytes map[int]int64
}

// Choice is the width Choose picked and why.
type Choice struct {
	Width    int           // 0 only when there was nothing to choose from
	Original bool          // Width is the original's: serve it unchanged
	Class    string        // ClassSaveData, an ECT constant or ClassUnknown
	Evidence string        // EvidenceX or an Estimate Source
	Rate     float64       // bytes/s assumed; 0 for save-data
	RTT      time.Duration // round trip assumed
	Bytes    int64         // estimated encoded size of Width
	Reason   string        // one line for logs and debug headers
}

// Choose picks the width for ?w=auto: the largest of widths (and of the
// original, origW) whose estimated bytes arrive within cfg.TargetTime at
// the link rate, or the smallest when none does. The rate comes, in order,
// from Client Hints (Downlink, else ECT, else RTT classed by ECT
// thresholds), then the server's Estimate, then cfg.DefaultRate. Save-Data
// overrides everything and picks the smallest width. Widths above origW are
// ignored. Choose is pure: same inputs, same Choice.
func Choose(h Hints, est Estimate, widths []int, origW int, cfg ChooseConfig) Choice {
	cfg = cfg.withDefaults()
	cands := candidates(widths, origW)
	if len(cands) == 0 {
		return Choice{Class: ClassUnknown, Evidence: EvidenceDefault, Reason: "no widths to choose from"}
	}
	bytesOf := func(w int) int64 { return cfg.estimateBytes(w, origW) }
	cands = undominated(cands, bytesOf)

	if h.SaveData {
		w := cands[0]
		return Choice{
			Width: w, Original: w == origW, Class: ClassSaveData, Evidence: EvidenceSaveData,
			Bytes: bytesOf(w), Reason: fmt.Sprintf("save-data: smallest width %d", w),
		}
	}

	c := Choice{}
	switch {
	case h.Downlink > 0:
		c.Evidence = EvidenceClientHints
		c.Rate = h.Downlink * 1e6 / 8
		switch {
		case h.HasRTT:
			c.RTT = h.RTT
		case h.ECT != "":
			c.RTT = ectProfileOf(h.ECT).rtt
		}
		c.Class = h.ECT
		if c.Class == "" {
			c.Class = classify(c.Rate, c.RTT)
		}
	case h.ECT != "":
		p := ectProfileOf(h.ECT)
		c.Evidence, c.Class, c.Rate, c.RTT = EvidenceClientHints, h.ECT, p.rate, p.rtt
		if h.HasRTT {
			c.RTT = h.RTT
		}
	case h.HasRTT:
		c.Evidence, c.RTT = EvidenceClientHints, h.RTT
		c.Class = classify(0, h.RTT)
		c.Rate = ectProfileOf(c.Class).rate
	case est.BytesPerSec > 0 && est.Source != SourceNone && est.Source != "":
		c.Evidence, c.Rate, c.RTT = est.Source, est.BytesPerSec, est.RTT
		c.Class = classify(c.Rate, c.RTT)
	default:
		c.Evidence, c.Class, c.Rate = EvidenceDefault, ClassUnknown, cfg.DefaultRate
	}

	budget := cfg.TargetTime - c.RTT
	c.Width = cands[0]
	fits := false
	if budget > 0 {
		maxBytes := c.Rate * budget.Seconds()
		for i := len(cands) - 1; i >= 0; i-- {
			if float64(bytesOf(cands[i])) <= maxBytes {
				c.Width, fits = cands[i], true
				break
			}
		}
	}
	c.Original = c.Width == origW
	c.Bytes = bytesOf(c.Width)
	how := "fits"
	if !fits {
		how = "nothing fits, smallest"
	}
	c.Reason = fmt.Sprintf("%s: %.0f kbit/s rtt %v, %s: width %d ~%d bytes in %v",
		c.Evidence, c.Rate*8/1e3, c.RTT, how, c.Width, c.Bytes, cfg.TargetTime)
	return c
}

func (cfg ChooseConfig) withDefaults() ChooseConfig {
	if cfg.TargetTime <= 0 {
		cfg.TargetTime = DefaultTargetTime
	}
	if cfg.DefaultRate <= 0 {
		cfg.DefaultRate = DefaultRate
	}
	if cfg.BytesPerPixel <= 0 {
		cfg.BytesPerPixel = DefaultBytesPerPixel
	}
	return cfg
}

// candidates returns the positive widths not above origW, plus origW,
// sorted ascending without duplicates. origW <= 0 means unknown: widths
// are taken as they are.
func candidates(widths []int, origW int) []int {
	out := make([]int, 0, len(widths)+1)
	for _, w := range widths {
		if w > 0 && (origW <= 0 || w <= origW) {
			out = append(out, w)
		}
	}
	if origW > 0 {
		out = append(out, origW)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// undominated drops each candidate (ascending widths) that costs at least
// as many bytes as a wider one: scaled down, a flat PNG graphic can encode
// larger than its original, and a client on a slow link would then wait
// longer for fewer pixels.
func undominated(cands []int, bytesOf func(int) int64) []int {
	keep := make([]int, 0, len(cands))
	least := int64(math.MaxInt64)
	for i := len(cands) - 1; i >= 0; i-- {
		if b := bytesOf(cands[i]); b < least {
			keep = append(keep, cands[i])
			least = b
		}
	}
	slices.Reverse(keep)
	return keep
}

// estimateBytes guesses the encoded size at width w: a known size if there
// is one, else the nearest known size scaled by area, else BytesPerPixel.
func (cfg ChooseConfig) estimateBytes(w, origW int) int64 {
	if b := cfg.VariantBytes[w]; b > 0 {
		return b
	}
	if w == origW && cfg.OrigBytes > 0 {
		return cfg.OrigBytes
	}
	refW, refB := 0, int64(0)
	consider := func(kw int, kb int64) {
		if kw <= 0 || kb <= 0 {
			return
		}
		if refW == 0 || math.Abs(math.Log(float64(kw)/float64(w))) < math.Abs(math.Log(float64(refW)/float64(w))) {
			refW, refB = kw, kb
		}
	}
	// Sorted so that ties between equally near sizes break the same way on
	// every call, keeping Choose deterministic.
	known := make([]int, 0, len(cfg.VariantBytes))
	for kw := range cfg.VariantBytes {
		known = append(known, kw)
	}
	slices.Sort(known)
	for _, kw := range known {
		consider(kw, cfg.VariantBytes[kw])
	}
	consider(origW, cfg.OrigBytes)
	if refW > 0 {
		r := float64(w) / float64(refW)
		return int64(math.Ceil(float64(refB) * r * r))
	}
	h := w * 3 / 4
	if cfg.OrigHeight > 0 && origW > 0 {
		h = ScaledHeight(origW, cfg.OrigHeight, w)
	}
	return int64(math.Ceil(float64(w) * float64(h) * cfg.BytesPerPixel))
}
