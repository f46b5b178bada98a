package main

import (
	"fmt"
	"image/color"
	"path/filepath"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

var palette = []color.Color{
	color.RGBA{31, 100, 180, 255}, color.RGBA{214, 96, 32, 255}, color.RGBA{44, 150, 60, 255},
	color.RGBA{150, 60, 170, 255}, color.RGBA{120, 120, 120, 255},
}

func writePlots(dir string, r *Results) error {
	for _, f := range []func(string, *Results) error{plotPrecompute, plotRequests, plotSlow, plotMixes, plotRepl} {
		if err := f(dir, r); err != nil {
			return err
		}
	}
	return nil
}

func addLine(p *plot.Plot, name string, xys plotter.XYs, c color.Color, dashed bool) error {
	l, s, err := plotter.NewLinePoints(xys)
	if err != nil {
		return err
	}
	l.Color, s.Color = c, c
	s.Shape = draw.CircleGlyph{}
	if dashed {
		l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	}
	p.Add(l, s)
	p.Legend.Add(name, l, s)
	return nil
}

// plotPrecompute: CPU per upload against megapixels (JPEG photos).
func plotPrecompute(dir string, r *Results) error {
	p := plot.New()
	p.Title.Text = "Precompute per upload: 4 widths from one decode"
	p.X.Label.Text = "source megapixels (JPEG photo, q85)"
	p.Y.Label.Text = "ms per upload"
	var cpu, wall plotter.XYs
	for _, q := range r.Precompute {
		if strings.HasPrefix(q.Input, "jpeg") {
			cpu = append(cpu, plotter.XY{X: q.MP, Y: ms(q.CPU)})
			wall = append(wall, plotter.XY{X: q.MP, Y: ms(q.Wall)})
		}
	}
	if err := addLine(p, "CPU time", cpu, palette[0], false); err != nil {
		return err
	}
	if err := addLine(p, "wall time", wall, palette[1], true); err != nil {
		return err
	}
	p.Legend.Top, p.Legend.Left = true, true
	return p.Save(16*vg.Centimeter, 10*vg.Centimeter, filepath.Join(dir, "precompute_cpu.png"))
}

// plotRequests: p50 latency per kind against source size, log scale.
func plotRequests(dir string, r *Results) error {
	p := plot.New()
	p.Title.Text = "GET latency over loopback (p50)"
	p.X.Label.Text = "source megapixels"
	p.Y.Label.Text = "ms (log)"
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	for i, k := range requestKinds {
		var xys plotter.XYs
		for _, q := range r.Requests {
			if q.Kind == k && strings.HasPrefix(q.Input, "jpeg") {
				xys = append(xys, plotter.XY{X: q.MP, Y: max(ms(q.P50), 0.01)})
			}
		}
		if err := addLine(p, k, xys, palette[i%len(palette)], k == reqPlain); err != nil {
			return err
		}
	}
	p.Legend.Top, p.Legend.Left = true, true
	return p.Save(16*vg.Centimeter, 11*vg.Centimeter, filepath.Join(dir, "request_latency.png"))
}

// plotSlow: transfer time against link rate, original vs auto, per input.
func plotSlow(dir string, r *Results) error {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("Time to deliver an image (RTT %v + bytes / rate)", slowRTT)
	p.X.Label.Text = "client link, Mbit/s (log)"
	p.Y.Label.Text = "seconds (log)"
	p.X.Scale, p.Y.Scale = plot.LogScale{}, plot.LogScale{}
	p.X.Tick.Marker, p.Y.Tick.Marker = plot.LogTicks{Prec: -1}, plot.LogTicks{Prec: -1}
	i := 0
	for _, in := range []string{"jpeg-800x600", "jpeg-2000x1500", "jpeg-6000x4000"} {
		var orig, auto plotter.XYs
		for _, s := range r.Slow {
			if s.Input == in {
				orig = append(orig, plotter.XY{X: s.RateMbps, Y: s.OrigSeconds})
				auto = append(auto, plotter.XY{X: s.RateMbps, Y: s.AutoSeconds})
			}
		}
		if len(orig) == 0 {
			continue
		}
		c := palette[i%len(palette)]
		i++
		if err := addLine(p, in+" original", orig, c, true); err != nil {
			return err
		}
		if err := addLine(p, in+" ?w=auto", auto, c, false); err != nil {
			return err
		}
	}
	p.Legend.Top = true
	return p.Save(16*vg.Centimeter, 11*vg.Centimeter, filepath.Join(dir, "slow_links.png"))
}

// plotMixes: process CPU (uploads + replay) per mix and mode.
func plotMixes(dir string, r *Results) error {
	p := plot.New()
	p.Title.Text = "CPU for uploads + request replay, by request mix"
	p.Y.Label.Text = "CPU seconds"
	w := vg.Points(14)
	for i, mode := range modes {
		var vals plotter.Values
		for _, mix := range mixes {
			for _, m := range r.Mixes {
				if m.Mode == mode && m.Mix == mix {
					vals = append(vals, (m.UploadCPU + m.RequestCPU).Seconds())
				}
			}
		}
		bc, err := plotter.NewBarChart(vals, w)
		if err != nil {
			return err
		}
		bc.Color = palette[i]
		bc.LineStyle.Width = 0
		bc.Offset = w * vg.Length(i-1)
		p.Add(bc)
		p.Legend.Add(mode, bc)
	}
	p.NominalX(mixes...)
	p.Legend.Top = true
	return p.Save(14*vg.Centimeter, 10*vg.Centimeter, filepath.Join(dir, "mixes_cpu.png"))
}

// plotRepl: bytes per peer per upload, now and with variants shipped.
func plotRepl(dir string, r *Results) error {
	p := plot.New()
	p.Title.Text = "Replication bytes per upload and peer"
	p.Y.Label.Text = "kB"
	w := vg.Points(14)
	var now, with plotter.Values
	var names []string
	for _, q := range r.Repl {
		now = append(now, float64(q.Measured)/1e3)
		with = append(with, float64(q.Measured+q.VariantBytes)/1e3)
		names = append(names, strings.TrimPrefix(q.Input, "jpeg-"))
	}
	for i, v := range []plotter.Values{now, with} {
		bc, err := plotter.NewBarChart(v, w)
		if err != nil {
			return err
		}
		bc.Color = palette[i]
		bc.LineStyle.Width = 0
		bc.Offset = w * (vg.Length(i) - 0.5)
		p.Add(bc)
		p.Legend.Add([]string{"original (measured)", "original + variants"}[i], bc)
	}
	p.NominalX(names...)
	p.Legend.Top, p.Legend.Left = true, true
	return p.Save(16*vg.Centimeter, 10*vg.Centimeter, filepath.Join(dir, "replication_bytes.png"))
}
