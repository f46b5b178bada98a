package main

import (
	"fmt"
	"image/color"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
)

// Results is everything one run measured.
type Results struct {
	Micro   []MicroRow
	Uploads []UploadRow
	Repl    []ReplRow
	Bursts  []BurstRow
	Beats   []HeartbeatRow
}

// pick collects f over the rows that match.
func pick[T any](rows []T, match func(T) bool, f func(T) float64) Summary {
	var xs []float64
	for _, r := range rows {
		if match(r) {
			xs = append(xs, f(r))
		}
	}
	return Summarize(xs)
}

func sizesOf[T any](rows []T, size func(T) int) []int {
	seen := map[int]bool{}
	var out []int
	for _, r := range rows {
		if s := size(r); s > 0 && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	sort.Ints(out)
	return out
}

func linksOf(rows []UploadRow) []string {
	var out []string
	for _, r := range rows {
		if len(out) == 0 || out[len(out)-1] != r.Link {
			out = append(out, r.Link)
		}
	}
	return out
}

// pairedRatio is the spread of JSON/Protobuf over the repetitions, each
// repetition's JSON figure divided by the Protobuf figure measured right
// next to it.
func pairedRatio[T any](rows []T, match func(T) bool, enc func(T) string, rep func(T) int, f func(T) float64) Summary {
	json, pb := map[int]float64{}, map[int]float64{}
	for _, r := range rows {
		if !match(r) {
			continue
		}
		if enc(r) == "json" {
			json[rep(r)] = f(r)
		} else {
			pb[rep(r)] = f(r)
		}
	}
	var xs []float64
	for k, j := range json {
		if p, ok := pb[k]; ok && p > 0 {
			xs = append(xs, j/p)
		}
	}
	return Summarize(xs)
}

func fmtRatio(v float64) string { return fmt.Sprintf("%.2f×", v) }

func ratio(a, b float64) string {
	if b == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f×", a/b)
}

// writeSummary writes summary.md: the tables the write-up quotes.
func writeSummary(path string, cfg Config, res *Results, checkReport, meta string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# Encoding experiment: generated summary\n\nWritten by `go run ./bench/encoding`; do not edit. %s\n\n", meta)
	fmt.Fprintf(&b, "Each cell is the median of %d repetitions (after %d warm-up) with (min–max); over the slow link, files over 4 MiB have %d. "+
		"JSON and Protobuf alternate repetition by repetition; \"JSON/PB paired\" divides each JSON repetition by the Protobuf one next to it. "+
		"Times and CPU are per upload; small files go in batches (up to 100 per repetition).\n\n", cfg.Reps, cfg.Warmup, cfg.SlowBig)

	if len(res.Micro) > 0 {
		b.WriteString("## Codec: one upload message (content + envelope)\n\n")
		b.WriteString("Process CPU time per operation (garbage collection included), which other load on the machine disturbs far less than wall time; wall times are in micro.csv.\n\n")
		t := newTable("content", "kind", "JSON bytes", "Protobuf bytes", "JSON/PB", "encode JSON", "encode PB", "decode JSON", "decode PB", "decode JSON/PB", "alloc decode JSON", "alloc decode PB")
		for _, size := range sizesOf(res.Micro, func(r MicroRow) int { return r.Size }) {
			for _, kind := range Kinds {
				get := func(enc, op string, f func(MicroRow) float64) Summary {
					return pick(res.Micro, func(r MicroRow) bool { return r.Encoding == enc && r.Kind == kind && r.Size == size && r.Op == op }, f)
				}
				ns := func(r MicroRow) float64 { return r.CPUNsPerOp }
				by := func(r MicroRow) float64 { return float64(r.MsgBytes) }
				al := func(r MicroRow) float64 { return r.AllocPerOp }
				jb, pb := get("json", "encode", by), get("protobuf", "encode", by)
				if jb.N == 0 {
					continue
				}
				je, pe, jd, pd := get("json", "encode", ns), get("protobuf", "encode", ns), get("json", "decode", ns), get("protobuf", "decode", ns)
				t.row(sizeLabel(size), kind, fmt.Sprintf("%.0f", jb.Median), fmt.Sprintf("%.0f", pb.Median), ratio(jb.Median, pb.Median),
					spread(je, fmtDur), spread(pe, fmtDur), spread(jd, fmtDur), spread(pd, fmtDur), ratio(jd.Median, pd.Median),
					fmtBytes(get("json", "decode", al).Median), fmtBytes(get("protobuf", "decode", al).Median))
			}
		}
		b.WriteString(t.String() + "\n")

		b.WriteString("## Codec: replication and control messages\n\n")
		t = newTable("message", "JSON bytes", "Protobuf bytes", "JSON/PB", "encode JSON", "encode PB", "decode JSON", "decode PB")
		for _, name := range ControlOrder {
			get := func(enc, op string, f func(MicroRow) float64) Summary {
				return pick(res.Micro, func(r MicroRow) bool { return r.Encoding == enc && r.Kind == name && r.Op == op }, f)
			}
			ns := func(r MicroRow) float64 { return r.CPUNsPerOp }
			by := func(r MicroRow) float64 { return float64(r.MsgBytes) }
			jb, pb := get("json", "encode", by), get("protobuf", "encode", by)
			if jb.N == 0 {
				continue
			}
			t.row(name, fmt.Sprintf("%.0f", jb.Median), fmt.Sprintf("%.0f", pb.Median), ratio(jb.Median, pb.Median),
				spread(get("json", "encode", ns), fmtDur), spread(get("protobuf", "encode", ns), fmtDur),
				spread(get("json", "decode", ns), fmtDur), spread(get("protobuf", "decode", ns), fmtDur))
		}
		b.WriteString(t.String() + "\n")
	}

	for _, link := range linksOf(res.Uploads) {
		fmt.Fprintf(&b, "## End-to-end uploads, %s\n\n", link)
		ld := pick(res.Uploads, func(r UploadRow) bool { return r.Link == link }, func(r UploadRow) float64 { return r.Load })
		fmt.Fprintf(&b, "1-minute load average during this part: %.1f (%.1f–%.1f) on %d CPUs.\n\n", ld.Median, ld.Min, ld.Max, runtime.NumCPU())
		t := newTable("content", "kind", "time JSON", "time PB", "JSON/PB paired", "wire up JSON", "wire up PB", "server CPU JSON", "server CPU PB", "peak RssAnon JSON", "peak RssAnon PB")
		rows := res.Uploads
		for _, size := range sizesOf(rows, func(r UploadRow) int { return r.Size }) {
			for _, kind := range Kinds {
				get := func(enc string, f func(UploadRow) float64) Summary {
					return pick(rows, func(r UploadRow) bool { return r.Link == link && r.Encoding == enc && r.Kind == kind && r.Size == size }, f)
				}
				wall := func(r UploadRow) float64 { return r.WallNs }
				jw, pw := get("json", wall), get("protobuf", wall)
				if jw.N == 0 {
					continue
				}
				up := func(r UploadRow) float64 { return r.WireUp }
				cpu := func(r UploadRow) float64 { return r.ServerCPU }
				rss := func(r UploadRow) float64 { return float64(r.PeakRSS) }
				pr := pairedRatio(rows, func(r UploadRow) bool { return r.Link == link && r.Kind == kind && r.Size == size },
					func(r UploadRow) string { return r.Encoding }, func(r UploadRow) int { return r.Rep }, wall)
				t.row(sizeLabel(size), kind, spread(jw, fmtDur), spread(pw, fmtDur), spread(pr, fmtRatio),
					fmtBytes(get("json", up).Median), fmtBytes(get("protobuf", up).Median),
					spread(get("json", cpu), fmtDur), spread(get("protobuf", cpu), fmtDur),
					mib(get("json", rss).Median), mib(get("protobuf", rss).Median))
			}
		}
		b.WriteString(t.String() + "\n")
	}

	if len(res.Repl) > 0 {
		b.WriteString("## Replication: one object, upload ack until both peers serve it\n\n")
		ld := pick(res.Repl, func(ReplRow) bool { return true }, func(r ReplRow) float64 { return r.Load })
		fmt.Fprintf(&b, "1-minute load average during this part: %.1f (%.1f–%.1f) on %d CPUs.\n\n", ld.Median, ld.Min, ld.Max, runtime.NumCPU())
		t := newTable("link", "content", "lag JSON", "lag PB", "JSON/PB paired", "peer bytes JSON", "peer bytes PB")
		var links []string
		for _, r := range res.Repl {
			if len(links) == 0 || links[len(links)-1] != r.Link {
				links = append(links, r.Link)
			}
		}
		for _, link := range links {
			for _, size := range sizesOf(res.Repl, func(r ReplRow) int { return r.Size }) {
				get := func(enc string, f func(ReplRow) float64) Summary {
					return pick(res.Repl, func(r ReplRow) bool { return r.Link == link && r.Encoding == enc && r.Size == size }, f)
				}
				lag := func(r ReplRow) float64 { return r.LagNs }
				jl, pl := get("json", lag), get("protobuf", lag)
				if jl.N == 0 {
					continue
				}
				by := func(r ReplRow) float64 { return r.PeerBytes }
				pr := pairedRatio(res.Repl, func(r ReplRow) bool { return r.Link == link && r.Size == size },
					func(r ReplRow) string { return r.Encoding }, func(r ReplRow) int { return r.Rep }, lag)
				t.row(link, sizeLabel(size), spread(jl, fmtDur), spread(pl, fmtDur), spread(pr, fmtRatio),
					fmtBytes(get("json", by).Median), fmtBytes(get("protobuf", by).Median))
			}
		}
		b.WriteString(t.String() + "\n")
	}
	if len(res.Bursts) > 0 {
		b.WriteString("## Replication: burst of small objects\n\n")
		t := newTable("link", "servers' encoding", "objects", "objects/s replicated", "tail after last ack", "peer bytes per object", "CPU per object (3 servers)", "peak RssAnon")
		for _, r := range res.Bursts {
			if r.Rep != 0 {
				continue
			}
			m := func(f func(BurstRow) float64) Summary {
				return pick(res.Bursts, func(x BurstRow) bool { return x.Link == r.Link && x.Encoding == r.Encoding }, f)
			}
			t.row(r.Link, r.Encoding, fmt.Sprintf("%d × %s", r.Objects, sizeLabel(r.Size)),
				spread(m(func(x BurstRow) float64 { return x.ObjectsPS }), func(v float64) string { return fmt.Sprintf("%.0f", v) }),
				spread(m(func(x BurstRow) float64 { return x.TailNs }), fmtDur),
				fmtBytes(m(func(x BurstRow) float64 { return x.PeerBytes }).Median),
				spread(m(func(x BurstRow) float64 { return x.ServerCPU }), fmtDur),
				mib(m(func(x BurstRow) float64 { return float64(x.PeakRSSMax) }).Median))
		}
		b.WriteString(t.String() + "\n")
	}
	if len(res.Beats) > 0 {
		b.WriteString("## Idle cluster: heartbeats and anti-entropy pulls\n\n")
		t := newTable("link", "servers' encoding", "seconds", "bytes/s between 3 servers")
		for _, h := range res.Beats {
			t.row(h.Link, h.Encoding, fmt.Sprintf("%.1f", h.Seconds), fmt.Sprintf("%.0f", h.BytesPerSec))
		}
		b.WriteString(t.String() + "\n")
	}
	b.WriteString("## Sanity checks\n\n```\n" + checkReport + "```\n")
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

// WritePlots draws the figures of the write-up into dir.
func WritePlots(dir string, res *Results) error {
	var specs []PlotSpec
	if len(res.Micro) > 0 {
		sizes := sizesOf(res.Micro, func(r MicroRow) int { return r.Size })
		var series []Series
		for _, enc := range []string{"json", "protobuf"} {
			for _, op := range []string{"encode", "decode"} {
				s := Series{Name: enc + " " + op, Color: encColor(enc), Dashed: op == "decode"}
				for _, size := range sizes {
					sum := pick(res.Micro, func(r MicroRow) bool {
						return r.Encoding == enc && r.Op == op && r.Size == size && r.Kind == KindRandom
					}, func(r MicroRow) float64 { return float64(size) / r.CPUNsPerOp * 1e9 / (1 << 20) })
					s.X, s.Med, s.Lo, s.Hi = append(s.X, float64(size)), append(s.Med, sum.Median), append(s.Lo, sum.Min), append(s.Hi, sum.Max)
				}
				series = append(series, s)
			}
		}
		specs = append(specs, PlotSpec{Path: "codec_throughput.png", Title: "Codec throughput per CPU second, one upload message (random content)",
			XLabel: "content size", YLabel: "content MiB per CPU second", Sizes: sizes, LogY: true, Series: series})
	}
	if len(res.Uploads) > 0 {
		sizes := sizesOf(res.Uploads, func(r UploadRow) int { return r.Size })
		byLink := func(link string, f func(UploadRow) float64, kind string) []Series {
			var out []Series
			for _, enc := range []string{"json", "protobuf"} {
				s := Series{Name: enc, Color: encColor(enc)}
				for _, size := range sizes {
					sum := pick(res.Uploads, func(r UploadRow) bool {
						return r.Link == link && r.Encoding == enc && r.Size == size && r.Kind == kind
					}, f)
					if sum.N == 0 {
						continue
					}
					s.X, s.Med, s.Lo, s.Hi = append(s.X, float64(size)), append(s.Med, sum.Median), append(s.Lo, sum.Min), append(s.Hi, sum.Max)
				}
				out = append(out, s)
			}
			return out
		}
		var ratioSeries, timeSeries []Series
		for _, ref := range []struct {
			name string
			v    float64
		}{{"base64: 4/3", 4.0 / 3}, {"raw: 1", 1}} {
			ratioSeries = append(ratioSeries, Series{Name: ref.name, Color: color.Gray{Y: 150}, Dashed: true, NoErrorBars: true,
				X: []float64{float64(sizes[0]), float64(sizes[len(sizes)-1])}, Med: []float64{ref.v, ref.v}})
		}
		for _, link := range linksOf(res.Uploads) {
			for _, s := range byLink(link, func(r UploadRow) float64 { return r.WireUp / float64(r.Size) }, KindRandom) {
				s.Name += " " + link
				s.Dashed = link != "loopback"
				s.NoErrorBars = true
				ratioSeries = append(ratioSeries, s)
			}
			for _, s := range byLink(link, func(r UploadRow) float64 { return r.WallNs / 1e6 }, KindRandom) {
				s.Name += " " + link
				s.Dashed = link != "loopback"
				timeSeries = append(timeSeries, s)
			}
		}
		specs = append(specs,
			PlotSpec{Path: "upload_wire_ratio.png", Title: "Bytes on the wire per content byte, client to server",
				XLabel: "content size", YLabel: "wire bytes / content bytes", Sizes: sizes, LegendRight: true, Series: ratioSeries},
			PlotSpec{Path: "upload_time.png", Title: "End-to-end upload time (random content)",
				XLabel: "content size", YLabel: "ms per upload", Sizes: sizes, LogY: true, Series: timeSeries},
			PlotSpec{Path: "upload_server_cpu.png", Title: "Server CPU per upload, loopback (random content)",
				XLabel: "content size", YLabel: "CPU ms per upload", Sizes: sizes, LogY: true,
				Series: byLink("loopback", func(r UploadRow) float64 { return max(r.ServerCPU, 1e5) / 1e6 }, KindRandom)},
			PlotSpec{Path: "upload_server_rss.png", Title: "Server peak RssAnon during uploads, loopback (random content)",
				XLabel: "content size", YLabel: "MiB", Sizes: sizes,
				Series: byLink("loopback", func(r UploadRow) float64 { return float64(r.PeakRSS) / (1 << 20) }, KindRandom)})
	}
	if len(res.Repl) > 0 {
		sizes := sizesOf(res.Repl, func(r ReplRow) int { return r.Size })
		var series []Series
		var links []string
		for _, r := range res.Repl {
			if len(links) == 0 || links[len(links)-1] != r.Link {
				links = append(links, r.Link)
			}
		}
		for _, link := range links {
			for _, enc := range []string{"json", "protobuf"} {
				s := Series{Name: enc + " " + link, Color: encColor(enc), Dashed: link != "loopback"}
				for _, size := range sizes {
					sum := pick(res.Repl, func(r ReplRow) bool { return r.Link == link && r.Encoding == enc && r.Size == size },
						func(r ReplRow) float64 { return r.LagNs / 1e6 })
					if sum.N == 0 {
						continue
					}
					s.X, s.Med, s.Lo, s.Hi = append(s.X, float64(size)), append(s.Med, sum.Median), append(s.Lo, sum.Min), append(s.Hi, sum.Max)
				}
				series = append(series, s)
			}
		}
		specs = append(specs, PlotSpec{Path: "replication_lag.png", Title: "Replication: upload ack until both peers serve the object",
			XLabel: "content size", YLabel: "ms", Sizes: sizes, LogY: true, Series: series})
	}
	for _, s := range specs {
		s.Path = filepath.Join(dir, s.Path)
		if err := SavePlot(s); err != nil {
			return err
		}
	}
	return nil
}
