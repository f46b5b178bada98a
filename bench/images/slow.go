package main

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// slowRTT is the round trip assumed for every rate: what a request costs
// before the first byte, on top of the transfer.
const slowRTT = 100 * time.Millisecond

// Client link rates in Mbit/s: 2G's 70 kbit/s, 3G's 0.4 (the Network
// Information API's thresholds), a poor and a decent mobile link, wired
// broadband.
var slowRates = []float64{0.07, 0.4, 1.6, 5, 10, 50}

// SlowResult is what ?w=auto sends a client of one rate, against the
// original. Times are computed: RTT + bytes / rate.
type SlowResult struct {
	Input         string
	RateMbps      float64
	AutoWidth     int
	AutoBytes     int64
	OrigBytes     int64
	AutoSeconds   float64
	OrigSeconds   float64
	SavedBytes    int64
	SavedSeconds  float64
	Evidence      string
	MeasuredAuto  float64 // through a toxiproxy bandwidth limit; 0 when not measured
	MeasuredOrig  float64
	ComputedAuto0 float64 // bytes / rate, no RTT: what the measurement should show
	ComputedOrig0 float64
}

// measureSlow asks a node for ?w=auto with Downlink and RTT hints at each
// rate (the node reads raw Downlink when no ECT is sent), and measures a
// few through toxiproxy to check the computation.
func measureSlow(inputs []Input, measureRates []float64, measureInput string, dir string) ([]SlowResult, error) {
	n, err := startNode("slow", filepath.Join(dir, "slow"), nil)
	if err != nil {
		return nil, err
	}
	defer n.Close()
	base := n.URL()
	var out []SlowResult
	for _, in := range inputs {
		if err := put(base, in.Name, in.contentType(), in.Data); err != nil {
			return nil, err
		}
		if err := waitPrecomputed(base, in.Name, len(in.variantWidths())); err != nil {
			return nil, err
		}
		for _, rate := range slowRates {
			a, err := do("GET", base+"/v1/objects/"+in.Name+"?w=auto",
				nil, "Downlink", strconv.FormatFloat(rate, 'f', -1, 64), "RTT", strconv.Itoa(int(slowRTT.Milliseconds())))
			if err != nil {
				return nil, err
			}
			w, _ := strconv.Atoi(a.Header.Get("X-Image-Width"))
			bps := rate * 1e6 / 8
			r := SlowResult{
				Input: in.Name, RateMbps: rate, AutoWidth: w, AutoBytes: a.Bytes, OrigBytes: int64(len(in.Data)),
				Evidence: a.Header.Get("X-Image-Evidence"),
			}
			r.ComputedAuto0, r.ComputedOrig0 = float64(r.AutoBytes)/bps, float64(r.OrigBytes)/bps
			r.AutoSeconds, r.OrigSeconds = slowRTT.Seconds()+r.ComputedAuto0, slowRTT.Seconds()+r.ComputedOrig0
			r.SavedBytes, r.SavedSeconds = r.OrigBytes-r.AutoBytes, r.OrigSeconds-r.AutoSeconds
			if in.Name == measureInput {
				for _, mr := range measureRates {
					if mr == rate {
						if r.MeasuredAuto, r.MeasuredOrig, err = measureThroughToxic(base, in.Name, rate); err != nil {
							return nil, err
						}
					}
				}
			}
			out = append(out, r)
			logf("slow %-16s %5.2f Mbit/s: auto %4d px %8d B %6.2f s, original %8d B %6.2f s%s", in.Name, rate,
				r.AutoWidth, r.AutoBytes, r.AutoSeconds, r.OrigBytes, r.OrigSeconds, measuredNote(r))
		}
	}
	return out, nil
}

func measuredNote(r SlowResult) string {
	if r.MeasuredAuto == 0 {
		return ""
	}
	return fmt.Sprintf(" (measured via toxiproxy: auto %.2f s vs %.2f computed, original %.2f s vs %.2f)",
		r.MeasuredAuto, r.ComputedAuto0, r.MeasuredOrig, r.ComputedOrig0)
}

var toxiServer *toxiproxy.ApiServer

func init() {
	zerolog.SetGlobalLevel(zerolog.Disabled) // toxiproxy logs through zerolog's global logger
	toxiServer = toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), zerolog.Nop())
}

// measureThroughToxic times GET of ?w=auto (with the same hints) and of the
// original through a toxiproxy bandwidth limit of rate Mbit/s on the
// downstream, on a fresh connection each.
func measureThroughToxic(base, key string, rate float64) (auto, orig float64, err error) {
	upstream := strings.TrimPrefix(base, "http://")
	p := toxiproxy.NewProxy(toxiServer, fmt.Sprintf("slow-%v", rate), "127.0.0.1:0", upstream)
	if err := p.Start(); err != nil {
		return 0, 0, err
	}
	defer p.Stop()
	kbps := int64(rate * 1e6 / 8 / 1000)
	js := fmt.Sprintf(`{"name":"bw","type":"bandwidth","stream":"downstream","attributes":{"rate":%d}}`, kbps)
	if _, err := p.Toxics.AddToxicJson(strings.NewReader(js)); err != nil {
		return 0, 0, err
	}
	url := "http://" + p.Listen + "/v1/objects/" + key
	client.CloseIdleConnections()
	a, err := do("GET", url+"?w=auto", nil, "Downlink", strconv.FormatFloat(rate, 'f', -1, 64), "RTT", strconv.Itoa(int(slowRTT.Milliseconds())))
	if err != nil {
		return 0, 0, err
	}
	client.CloseIdleConnections()
	o, err := do("GET", url, nil)
	if err != nil {
		return 0, 0, err
	}
	client.CloseIdleConnections()
	return a.Time.Seconds(), o.Time.Seconds(), nil
}
