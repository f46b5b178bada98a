package main

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"sync"
)

// Summary is the spread of one measured quantity over the repetitions of
// one configuration.
type Summary struct {
	N                int
	Median, Min, Max float64
	Mean, SD, CV     float64 // CV = SD / Mean
	Outliers         int     // values more than 3 scaled MADs from the median
	MAD              float64 // median absolute deviation
}

// Summarize computes the spread of xs.
func Summarize(xs []float64) Summary {
	s := Summary{N: len(xs)}
	if len(xs) == 0 {
		return s
	}
	v := slices.Clone(xs)
	sort.Float64s(v)
	s.Min, s.Max, s.Median = v[0], v[len(v)-1], median(v)
	var sum float64
	for _, x := range v {
		sum += x
	}
	s.Mean = sum / float64(len(v))
	var ss float64
	for _, x := range v {
		ss += (x - s.Mean) * (x - s.Mean)
	}
	if len(v) > 1 {
		s.SD = math.Sqrt(ss / float64(len(v)-1))
	}
	if s.Mean != 0 {
		s.CV = s.SD / s.Mean
	}
	dev := make([]float64, len(v))
	for i, x := range v {
		dev[i] = math.Abs(x - s.Median)
	}
	sort.Float64s(dev)
	s.MAD = median(dev)
	for _, x := range v {
		// 1.4826 scales the MAD to a standard deviation for normal data;
		// a value within 5% of the median is no outlier however tight the
		// others are (the slow link's times agree to 1%).
		d := math.Abs(x - s.Median)
		if s.MAD > 0 && d > 3*1.4826*s.MAD && d > 0.05*math.Abs(s.Median) {
			s.Outliers++
		}
	}
	return s
}

func median(sorted []float64) float64 {
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}

// Check is one sanity check's verdict.
type Check struct {
	Name   string
	OK     bool
	Warn   bool // a failure that does not fail the run (noise)
	Detail string
}

// Checks collects sanity checks; a failed hard check fails the run.
type Checks struct {
	mu   sync.Mutex
	list []Check
}

// Hard records a check whose failure means the numbers cannot be trusted.
func (c *Checks) Hard(ok bool, name, format string, args ...any) bool {
	c.add(Check{Name: name, OK: ok, Detail: fmt.Sprintf(format, args...)})
	return ok
}

// Soft records a check whose failure is reported but does not fail the
// run: noise from other load on the machine.
func (c *Checks) Soft(ok bool, name, format string, args ...any) bool {
	c.add(Check{Name: name, OK: ok, Warn: true, Detail: fmt.Sprintf(format, args...)})
	return ok
}

func (c *Checks) add(ch Check) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.list = append(c.list, ch)
}

// Failed returns the hard checks that failed.
func (c *Checks) Failed() []Check {
	return c.filter(func(ch Check) bool { return !ch.OK && !ch.Warn })
}

// Warnings returns the soft checks that failed.
func (c *Checks) Warnings() []Check {
	return c.filter(func(ch Check) bool { return !ch.OK && ch.Warn })
}

// All returns every check in the order they were made.
func (c *Checks) All() []Check { return c.filter(func(Check) bool { return true }) }

func (c *Checks) filter(f func(Check) bool) []Check {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []Check
	for _, ch := range c.list {
		if f(ch) {
			out = append(out, ch)
		}
	}
	return out
}

// Report is the checks as text, one per line, failures first.
func (c *Checks) Report() string {
	var b strings.Builder
	all := c.All()
	pass := 0
	for _, ch := range all {
		if ch.OK {
			pass++
		}
	}
	fmt.Fprintf(&b, "%d checks: %d passed, %d failed, %d warnings\n", len(all), pass, len(c.Failed()), len(c.Warnings()))
	for _, ch := range c.Failed() {
		fmt.Fprintf(&b, "FAIL %s: %s\n", ch.Name, ch.Detail)
	}
	for _, ch := range c.Warnings() {
		fmt.Fprintf(&b, "WARN %s: %s\n", ch.Name, ch.Detail)
	}
	// Passed checks are many (one per upload for some): one line per name,
	// with the count and the first detail as an example.
	count := map[string]int{}
	var order []string
	first := map[string]string{}
	for _, ch := range all {
		if !ch.OK {
			continue
		}
		if count[ch.Name] == 0 {
			order = append(order, ch.Name)
			first[ch.Name] = ch.Detail
		}
		count[ch.Name]++
	}
	for _, name := range order {
		fmt.Fprintf(&b, "ok   %-28s x%-5d e.g. %s\n", name, count[name], first[name])
	}
	return b.String()
}
