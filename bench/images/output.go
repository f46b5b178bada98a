package main

import (
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

func writeOutputs(cfg Config, r *Results) error {
	w := func(name string, header []string, rows [][]string) error {
		f, err := os.Create(filepath.Join(cfg.Out, name))
		if err != nil {
			return err
		}
		defer f.Close()
		cw := csv.NewWriter(f)
		cw.Write(header)
		cw.WriteAll(rows)
		return cw.Error()
	}
	f := func(v float64) string { return fmt.Sprintf("%.3f", v) }
	d := func(v int64) string { return fmt.Sprint(v) }

	var rows [][]string
	for _, p := range r.Precompute {
		rows = append(rows, []string{p.Input, f(p.MP), d(p.OrigBytes), fmt.Sprint(p.Widths), d(p.StoredBytes),
			f(ms(p.CPU)), f(ms(p.Wall)), f(ms(p.StoreWall))})
	}
	if err := w("precompute.csv", []string{"input", "megapixels", "orig_bytes", "widths", "variant_bytes", "cpu_ms", "wall_ms", "store_ms"}, rows); err != nil {
		return err
	}
	rows = nil
	for _, q := range r.Requests {
		rows = append(rows, []string{q.Input, f(q.MP), q.Kind, fmt.Sprint(q.N), f(ms(q.P50)), f(ms(q.P90)), d(q.Bytes)})
	}
	if err := w("requests.csv", []string{"input", "megapixels", "kind", "n", "p50_ms", "p90_ms", "bytes"}, rows); err != nil {
		return err
	}
	rows = nil
	for _, s := range r.Slow {
		rows = append(rows, []string{s.Input, f(s.RateMbps), fmt.Sprint(s.AutoWidth), d(s.AutoBytes), d(s.OrigBytes),
			f(s.AutoSeconds), f(s.OrigSeconds), d(s.SavedBytes), f(s.SavedSeconds), s.Evidence, f(s.MeasuredAuto), f(s.MeasuredOrig)})
	}
	if err := w("slow_links.csv", []string{"input", "rate_mbps", "auto_width", "auto_bytes", "orig_bytes", "auto_s", "orig_s",
		"saved_bytes", "saved_s", "evidence", "measured_auto_s", "measured_orig_s"}, rows); err != nil {
		return err
	}
	rows = nil
	for _, m := range r.Mixes {
		rows = append(rows, []string{m.Mix, m.Mode, fmt.Sprint(m.Images), fmt.Sprint(m.Requests), f(m.UploadCPU.Seconds()),
			f(m.UploadWall.Seconds()), f(m.RequestCPU.Seconds()), f(ms(m.Mean)), f(ms(m.P95)), d(m.BytesServed), d(m.StoredBytes),
			fmt.Sprint(m.Precomputed), fmt.Sprint(m.Dynamic), fmt.Sprint(m.FromOriginal)})
	}
	if err := w("mixes.csv", []string{"mix", "mode", "images", "requests", "upload_cpu_s", "upload_wall_s", "replay_cpu_s",
		"mean_ms", "p95_ms", "bytes_served", "variant_bytes_stored", "precomputed", "dynamic", "answered_with_original"}, rows); err != nil {
		return err
	}
	rows = nil
	for _, p := range r.Repl {
		rows = append(rows, []string{p.Input, d(p.OrigBytes), d(p.Measured), d(p.VariantBytes), f(ms(p.PeerCPU)),
			fmt.Sprintf("%.3e", p.EgressUSD), fmt.Sprintf("%.3e", p.CPUUSD), fmt.Sprintf("%.5f", p.BreakEvenRate)})
	}
	if err := w("replication.csv", []string{"input", "orig_bytes", "peer_received_bytes", "variant_bytes", "peer_cpu_ms",
		"egress_usd_per_peer", "cpu_usd_per_peer", "breakeven_usd_per_gb"}, rows); err != nil {
		return err
	}
	if err := writePlots(cfg.Out, r); err != nil {
		return fmt.Errorf("plots: %w", err)
	}
	var cb strings.Builder
	for _, c := range r.Checks {
		status := "ok  "
		if !c.OK {
			status = "FAIL"
			if !c.Hard {
				status = "warn"
			}
		}
		fmt.Fprintf(&cb, "%s %s: %s\n", status, c.Name, c.Detail)
	}
	if err := os.WriteFile(filepath.Join(cfg.Out, "checks.txt"), []byte(cb.String()), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(cfg.Out, "summary.md"), []byte(summary(cfg, r)), 0o644)
}

// summary is the run's tables in Markdown, for the study to quote.
func summary(cfg Config, r *Results) string {
	var b strings.Builder
	host, _ := os.Hostname()
	fmt.Fprintf(&b, "# Image scaling: run of %s\n\n", r.Started.UTC().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(&b, "Host %s, %s/%s, %d CPUs, %s; quick=%v. Regenerate: `go run ./bench/images` (task experiment:images).\n\n",
		host, runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version(), cfg.Quick)

	b.WriteString("## Precompute per upload (widths 160, 320, 640, 1280; median)\n\n")
	b.WriteString("| input | MP | original | variants | % of original | CPU ms | wall ms | of which store ms |\n|---|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, p := range r.Precompute {
		fmt.Fprintf(&b, "| %s | %.1f | %s | %s | %.1f%% | %.1f | %.1f | %.1f |\n", p.Input, p.MP, kb(p.OrigBytes), kb(p.StoredBytes),
			100*float64(p.StoredBytes)/float64(p.OrigBytes), ms(p.CPU), ms(p.Wall), ms(p.StoreWall))
	}
	b.WriteString("\n## Request latency over loopback (p50 / p90 ms)\n\n| input |")
	for _, k := range requestKinds {
		fmt.Fprintf(&b, " %s |", k)
	}
	b.WriteString("\n|---|" + strings.Repeat("---:|", len(requestKinds)) + "\n")
	byKey := map[string]RequestResult{}
	var order []string
	for _, q := range r.Requests {
		if _, ok := byKey[q.Input+"|"+reqPlain]; !ok && q.Kind == reqPlain {
			order = append(order, q.Input)
		}
		byKey[q.Input+"|"+q.Kind] = q
	}
	for _, in := range order {
		fmt.Fprintf(&b, "| %s |", in)
		for _, k := range requestKinds {
			q := byKey[in+"|"+k]
			fmt.Fprintf(&b, " %.2f / %.2f |", ms(q.P50), ms(q.P90))
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "\n## ?w=auto on slow links (Downlink hint, RTT %v; seconds = RTT + bytes / rate)\n\n", slowRTT)
	b.WriteString("| input | Mbit/s | auto width | auto bytes | auto s | original s | saved | measured auto / original s |\n|---|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, s := range r.Slow {
		meas := ""
		if s.MeasuredAuto > 0 {
			meas = fmt.Sprintf("%.2f / %.2f", s.MeasuredAuto, s.MeasuredOrig)
		}
		fmt.Fprintf(&b, "| %s | %.2f | %d | %s | %.2f | %.2f | %s, %.2f s | %s |\n", s.Input, s.RateMbps, s.AutoWidth, kb(s.AutoBytes),
			s.AutoSeconds, s.OrigSeconds, kb(s.SavedBytes), s.SavedSeconds, meas)
	}
	b.WriteString("\n## Request mixes (CPU of the whole process, client included)\n\n")
	b.WriteString("| mix | mode | upload CPU s | replay CPU s | mean ms | p95 ms | served MB | variants stored MB | precomputed / dynamic | answered with original |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, m := range r.Mixes {
		fmt.Fprintf(&b, "| %s | %s | %.2f | %.2f | %.2f | %.1f | %.1f | %.2f | %d / %d | %d |\n", m.Mix, m.Mode, m.UploadCPU.Seconds(),
			m.RequestCPU.Seconds(), ms(m.Mean), ms(m.P95), float64(m.BytesServed)/1e6, float64(m.StoredBytes)/1e6, m.Precomputed, m.Dynamic, m.FromOriginal)
	}
	fmt.Fprintf(&b, "\n## Replication per upload and peer (egress $%.3f/GB, server $%.4f/h for %d vCPU)\n\n", r.Prices.EgressPerGB, r.Prices.ServerPerHour, r.Prices.VCPUs)
	b.WriteString("| input | original | peer received (measured) | + variants if shipped | egress $ of variants | CPU ms to make them | CPU $ | break-even egress $/GB |\n|---|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, p := range r.Repl {
		fmt.Fprintf(&b, "| %s | %s | %s | %s (+%.1f%%) | %.2e | %.0f | %.2e | %.4f |\n", p.Input, kb(p.OrigBytes), kb(p.Measured), kb(p.VariantBytes),
			100*float64(p.VariantBytes)/float64(p.Measured), p.EgressUSD, ms(p.PeerCPU), p.CPUUSD, p.BreakEvenRate)
	}
	b.WriteString("\n## Checks\n\n")
	for _, c := range r.Checks {
		if !c.OK {
			fmt.Fprintf(&b, "- %s (hard=%v): %s\n", c.Name, c.Hard, c.Detail)
		}
	}
	fmt.Fprintf(&b, "- %d checks, see checks.txt\n", len(r.Checks))
	return b.String()
}

func kb(n int64) string {
	switch {
	case n >= 1e6:
		return fmt.Sprintf("%.2f MB", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1f kB", float64(n)/1e3)
	}
	return fmt.Sprintf("%d B", n)
}
