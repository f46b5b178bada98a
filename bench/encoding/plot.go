package main

import (
	"fmt"
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Series is one line of a plot: medians with min..max bars.
type Series struct {
	Name        string
	X           []float64
	Med, Lo, Hi []float64
	Color       color.Color
	Dashed      bool
	NoErrorBars bool
}

// Colors of the encodings, the same in every plot.
var (
	colorJSON  = color.RGBA{R: 214, G: 96, B: 32, A: 255}
	colorProto = color.RGBA{R: 31, G: 100, B: 180, A: 255}
)

func encColor(enc string) color.Color {
	if enc == "json" {
		return colorJSON
	}
	return colorProto
}

// sizeTicks labels a log axis of content sizes in KiB and MiB.
func sizeTicks(sizes []int) plot.Ticker {
	var t plot.ConstantTicks
	for _, s := range sizes {
		t = append(t, plot.Tick{Value: float64(s), Label: sizeLabel(s)})
	}
	return t
}

func sizeLabel(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d B", n)
}

// PlotSpec is one figure.
type PlotSpec struct {
	Path, Title, XLabel, YLabel string
	Sizes                       []int // x ticks; the x axis is log scale
	LogY                        bool
	LegendRight                 bool
	Series                      []Series
}

// SavePlot draws spec as a PNG.
func SavePlot(spec PlotSpec) error {
	p := plot.New()
	p.Title.Text = spec.Title
	p.X.Label.Text = spec.XLabel
	p.Y.Label.Text = spec.YLabel
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = sizeTicks(spec.Sizes)
	if spec.LogY {
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	}
	p.Legend.Top = true
	p.Legend.Left = !spec.LegendRight
	p.Add(plotter.NewGrid())
	ymin, ymax := math.Inf(1), math.Inf(-1)
	drawn := 0
	for _, s := range spec.Series {
		s = finite(s, spec.LogY)
		if len(s.X) == 0 {
			continue
		}
		drawn++
		xys := make(plotter.XYs, len(s.X))
		errs := make(plotter.YErrors, len(s.X))
		for i := range s.X {
			xys[i].X, xys[i].Y = s.X[i], s.Med[i]
			if !s.NoErrorBars && s.Lo != nil {
				errs[i].Low, errs[i].High = s.Med[i]-s.Lo[i], s.Hi[i]-s.Med[i]
				ymin, ymax = math.Min(ymin, s.Lo[i]), math.Max(ymax, s.Hi[i])
			}
			ymin, ymax = math.Min(ymin, s.Med[i]), math.Max(ymax, s.Med[i])
		}
		line, points, err := plotter.NewLinePoints(xys)
		if err != nil {
			return fmt.Errorf("plot %s: %w", spec.Path, err)
		}
		line.Color, points.Color = s.Color, s.Color
		line.Width = vg.Points(1.5)
		points.Shape = draw.CircleGlyph{}
		if s.Dashed {
			line.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
			points.Shape = draw.BoxGlyph{}
		}
		p.Add(line, points)
		p.Legend.Add(s.Name, line, points)
		if !s.NoErrorBars && s.Lo != nil {
			bars, err := plotter.NewYErrorBars(struct {
				plotter.XYs
				plotter.YErrors
			}{xys, errs})
			if err != nil {
				return fmt.Errorf("plot %s: %w", spec.Path, err)
			}
			bars.Color = s.Color
			bars.CapWidth = vg.Points(4)
			p.Add(bars)
		}
	}
	if drawn == 0 {
		return nil // nothing measured for this figure
	}
	switch {
	case spec.LogY && ymin > 0 && !math.IsInf(ymin, 1):
		p.Y.Min, p.Y.Max = ymin/1.5, ymax*1.5
	case !spec.LogY && !math.IsInf(ymin, 1):
		p.Y.Min, p.Y.Max = 0, ymax*1.15
	}
	if len(spec.Sizes) > 0 {
		p.X.Min, p.X.Max = float64(spec.Sizes[0])/1.6, float64(spec.Sizes[len(spec.Sizes)-1])*1.6
	}
	if err := p.Save(17*vg.Centimeter, 11*vg.Centimeter, spec.Path); err != nil {
		return fmt.Errorf("plot %s: %w", spec.Path, err)
	}
	return nil
}

// finite drops the points a plot cannot draw: NaN, infinities, and zero
// or negative values on a log axis (a measure an older run lacks).
func finite(s Series, logY bool) Series {
	out := s
	out.X, out.Med, out.Lo, out.Hi = nil, nil, nil, nil
	for i := range s.X {
		v := s.Med[i]
		if math.IsNaN(v) || math.IsInf(v, 0) || logY && v <= 0 {
			continue
		}
		out.X, out.Med = append(out.X, s.X[i]), append(out.Med, v)
		if s.Lo != nil {
			out.Lo, out.Hi = append(out.Lo, s.Lo[i]), append(out.Hi, s.Hi[i])
		}
	}
	return out
}
