package main

import (
	"encoding/csv"
	"fmt"
	"os"
	"reflect"
	"strconv"
	"strings"
	"unicode"
)

// WriteCSV writes rows (a slice of structs) with a header made of the
// field names in snake_case.
func WriteCSV(path string, rows any) error {
	v := reflect.ValueOf(rows)
	t := v.Type().Elem()
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	w := csv.NewWriter(f)
	var head []string
	for i := 0; i < t.NumField(); i++ {
		head = append(head, snake(t.Field(i).Name))
	}
	w.Write(head)
	for i := 0; i < v.Len(); i++ {
		row := v.Index(i)
		var rec []string
		for j := 0; j < t.NumField(); j++ {
			rec = append(rec, cell(row.Field(j)))
		}
		w.Write(rec)
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return fmt.Errorf("write csv: %w", err)
	}
	return f.Close()
}

func cell(v reflect.Value) string {
	switch v.Kind() {
	case reflect.Float64:
		return strconv.FormatFloat(v.Float(), 'f', -1, 64)
	case reflect.Int, reflect.Int64:
		return strconv.FormatInt(v.Int(), 10)
	case reflect.Bool:
		return strconv.FormatBool(v.Bool())
	}
	return fmt.Sprint(v.Interface())
}

func snake(s string) string {
	var b strings.Builder
	rs := []rune(s)
	for i, r := range rs {
		if unicode.IsUpper(r) {
			// A new word starts at an upper-case letter that follows a
			// lower-case one or precedes one (WallNs, PeakRSS, ObjectsPS).
			if i > 0 && (unicode.IsLower(rs[i-1]) || i+1 < len(rs) && unicode.IsLower(rs[i+1]) && unicode.IsUpper(rs[i-1])) {
				b.WriteByte('_')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

// mib formats bytes as MiB with one decimal.
func mib(b float64) string { return fmt.Sprintf("%.1f MiB", b/(1<<20)) }

// fmtBytes formats a byte count for tables.
func fmtBytes(b float64) string {
	switch {
	case b >= 10<<20:
		return fmt.Sprintf("%.1f MiB", b/(1<<20))
	case b >= 10<<10:
		return fmt.Sprintf("%.1f KiB", b/(1<<10))
	}
	return fmt.Sprintf("%.0f B", b)
}

// fmtDur formats nanoseconds with three significant digits.
func fmtDur(ns float64) string {
	switch {
	case ns >= 1e9:
		return fmt.Sprintf("%.3g s", ns/1e9)
	case ns >= 1e6:
		return fmt.Sprintf("%.3g ms", ns/1e6)
	case ns >= 1e3:
		return fmt.Sprintf("%.3g µs", ns/1e3)
	}
	return fmt.Sprintf("%.0f ns", ns)
}

// spread formats a summary as "median (min–max)".
func spread(s Summary, f func(float64) string) string {
	if s.N <= 1 {
		return f(s.Median)
	}
	return fmt.Sprintf("%s (%s–%s)", f(s.Median), f(s.Min), f(s.Max))
}

// table is a Markdown table under construction.
type table struct {
	b strings.Builder
}

func newTable(cols ...string) *table {
	t := &table{}
	t.b.WriteString("| " + strings.Join(cols, " | ") + " |\n|")
	for range cols {
		t.b.WriteString(" --- |")
	}
	t.b.WriteString("\n")
	return t
}

func (t *table) row(cells ...string) { t.b.WriteString("| " + strings.Join(cells, " | ") + " |\n") }

func (t *table) String() string { return t.b.String() }

// ReadCSV reads a file WriteCSV wrote into rows, a pointer to a slice of
// the same struct type.
func ReadCSV(path string, rows any) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("read csv: %w", err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return fmt.Errorf("read csv %s: %w", path, err)
	}
	v := reflect.ValueOf(rows).Elem()
	t := v.Type().Elem()
	if len(recs) == 0 {
		return fmt.Errorf("read csv %s: empty", path)
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	for _, rec := range recs[1:] {
		row := reflect.New(t).Elem()
		for j := 0; j < t.NumField(); j++ {
			i, ok := col[snake(t.Field(j).Name)]
			if !ok || i >= len(rec) {
				continue
			}
			fv, cellv := row.Field(j), rec[i]
			switch fv.Kind() {
			case reflect.Float64:
				x, err := strconv.ParseFloat(cellv, 64)
				if err != nil {
					return fmt.Errorf("read csv %s: %s: %w", path, t.Field(j).Name, err)
				}
				fv.SetFloat(x)
			case reflect.Int, reflect.Int64:
				x, err := strconv.ParseInt(cellv, 10, 64)
				if err != nil {
					return fmt.Errorf("read csv %s: %s: %w", path, t.Field(j).Name, err)
				}
				fv.SetInt(x)
			case reflect.Bool:
				fv.SetBool(cellv == "true")
			case reflect.String:
				fv.SetString(cellv)
			}
		}
		v.Set(reflect.Append(v, row))
	}
	return nil
}
