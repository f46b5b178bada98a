package main

import (
	"fmt"

	"metacdn/scaler"
	"metacdn/scaler/testimg"
)

// Input is one source image of the study.
type Input struct {
	Name   string
	Width  int
	Height int
	Format string // jpeg or png
	Data   []byte
}

// MP is the input's size in megapixels.
func (in Input) MP() float64 { return float64(in.Width*in.Height) / 1e6 }

// makeInputs draws the workload of image sizes: photo-like JPEGs at
// quality 85 (what cameras and phones upload, re-encoded) from 0.5 to 24
// megapixels, and one PNG graphic with transparency.
func makeInputs(quick bool) []Input {
	type spec struct {
		w, h   int
		format string
	}
	specs := []spec{{800, 600, "jpeg"}, {1600, 1200, "jpeg"}, {2000, 1500, "jpeg"}, {4000, 3000, "jpeg"}, {6000, 4000, "jpeg"}, {1600, 1200, "png"}}
	if quick {
		specs = []spec{{800, 600, "jpeg"}, {2000, 1500, "jpeg"}, {800, 600, "png"}}
	}
	var out []Input
	for i, s := range specs {
		in := Input{Width: s.w, Height: s.h, Format: s.format}
		if s.format == "png" {
			in.Data = testimg.PatternPNG(s.w, s.h)
		} else {
			in.Data = testimg.PhotoJPEG(s.w, s.h, uint64(100+i), 85)
		}
		in.Name = fmt.Sprintf("%s-%dx%d", s.format, s.w, s.h)
		out = append(out, in)
	}
	return out
}

// contentType of an input.
func (in Input) contentType() string {
	if in.Format == "png" {
		return "image/png"
	}
	return "image/jpeg"
}

// widths is the node's default precompute set.
var widths = []int{160, 320, 640, 1280}

// variantWidths are the widths precomputed for in.
func (in Input) variantWidths() []int { return scaler.Widths(in.Width, widths) }
