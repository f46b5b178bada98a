package scaler_test

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"metacdn/scaler"
	"metacdn/scaler/testimg"
)

// A server answering GET /v1/objects/KEY?w=auto: parse the hints (with
// r.Header.Get in a real handler), pick a width, serve a precomputed
// variant when one fits, else resize under the Limiter.
func Example() {
	original := testimg.PhotoJPEG(1000, 750, 1, 85)
	info, _ := scaler.Probe(bytes.NewReader(original))
	variants := scaler.Widths(info.Width, nil) // precomputed at upload

	headers := map[string]string{"Ect": "3g", "Rtt": "300"}
	hints := scaler.ParseHints(func(k string) string { return headers[k] })

	est := scaler.NewEstimator(0).Estimate("192.0.2.7") // nothing known yet
	choice := scaler.Choose(hints, est, variants, info.Width, scaler.ChooseConfig{
		OrigHeight: info.Height,
		OrigBytes:  int64(len(original)),
	})
	fmt.Println("variants:", variants)
	fmt.Println("class:", choice.Class, "evidence:", choice.Evidence)

	if w, ok := scaler.Fit(choice.Width, variants); ok {
		fmt.Println("serve precomputed width", w)
		return
	}
	limiter := scaler.NewLimiter(2)
	err := limiter.Do(func() error {
		res, err := scaler.Resize(original, choice.Width, scaler.Options{})
		if errors.Is(err, scaler.ErrNoUpscale) {
			fmt.Println("serve the original")
			return nil
		}
		if err != nil {
			return err
		}
		fmt.Println("serve dynamic", res.Width, "x", res.Height, res.ContentType)
		return nil
	})
	if errors.Is(err, scaler.ErrBusy) {
		fmt.Println("503")
	}
	// Output:
	// variants: [160 320 640]
	// class: 3g evidence: client-hints
	// serve precomputed width 320
}

// After each response, the server feeds the estimator what it measured.
func ExampleEstimator() {
	e := scaler.NewEstimator(0)
	e.Observe("192.0.2.7", 500_000, 2*time.Second) // 250 kB/s over a response
	fmt.Printf("%s %.0f B/s\n", e.Estimate("192.0.2.7").Source, e.Estimate("192.0.2.7").BytesPerSec)
	e.ObserveTCP("192.0.2.7", 400_000, 80*time.Millisecond) // from TCPInfoConn
	est := e.Estimate("192.0.2.7")
	fmt.Printf("%s %.0f B/s rtt %v\n", est.Source, est.BytesPerSec, est.RTT)
	// Output:
	// history 250000 B/s
	// tcp_info 400000 B/s rtt 80ms
}
