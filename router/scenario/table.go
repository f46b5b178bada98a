package scenario

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// WriteTable writes results as an aligned text table: per row the
// scenario, the object, each server's latency, bandwidth cap and prices,
// then the server each policy was expected to pick and the one it picked
// (network/price/combined), and ok or FAIL.
func WriteTable(w io.Writer, results []Result) error {
	if len(results) == 0 {
		_, err := fmt.Fprintln(w, "no results")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	head := []string{"SCENARIO", "OBJECT"}
	for _, s := range results[0].Servers {
		head = append(head, fmt.Sprintf("%s (%s)", s.ID, s.Provider))
	}
	var names []string
	for _, p := range Policies {
		names = append(names, string(p))
	}
	head = append(head, "EXPECTED "+strings.Join(names, "/"), "PICKED", "OK")
	fmt.Fprintln(tw, strings.Join(head, "\t"))
	for _, r := range results {
		row := []string{r.Scenario, fmt.Sprintf("%s %s", r.Object, size(Objects[r.Object]))}
		for _, s := range r.Servers {
			row = append(row, link(s, r.Prices[s.Provider]))
		}
		want, got := make([]string, len(Policies)), make([]string, len(Policies))
		for i, p := range Policies {
			want[i], got[i] = "-", "-"
			for _, pk := range r.Picks {
				if pk.Policy == p {
					want[i], got[i] = pk.Want, pk.Got
				}
			}
		}
		verdict := "ok"
		if !r.OK() {
			verdict = "FAIL"
		}
		row = append(row, strings.Join(want, "/"), strings.Join(got, "/"), verdict)
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	return tw.Flush()
}

// link is one server's cell: "10ms 200KB/s $0.12/GB $0.03/h".
func link(s Server, p Price) string {
	parts := []string{fmt.Sprintf("%dms", s.LatencyMs)}
	if s.BandwidthKBps > 0 {
		parts = append(parts, fmt.Sprintf("%dKB/s", s.BandwidthKBps))
	}
	parts = append(parts, fmt.Sprintf("$%.2f/GB $%.2f/h", p.Egress, p.Hour))
	return strings.Join(parts, " ")
}

func size(n int) string {
	if n >= 1<<10 && n%(1<<10) == 0 {
		return fmt.Sprintf("%dKiB", n>>10)
	}
	return fmt.Sprintf("%dB", n)
}
