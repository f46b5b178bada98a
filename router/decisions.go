package router

import (
	"fmt"
	"math"
	"strings"
	"sync/atomic"
	"time"
)

// decisionSlots is how many recent routing decisions the status keeps.
const decisionSlots = 64

// decisionLog is a lock-free ring of the last decisions: writers claim a
// slot with an atomic counter and publish a pointer, readers copy what is
// there. A reader may see a slot one write newer than its neighbours,
// which is fine for a status page.
type decisionLog struct {
	next  atomic.Uint64
	slots [decisionSlots]atomic.Pointer[decision]
}

func (l *decisionLog) add(d *decision) {
	i := l.next.Add(1) - 1
	l.slots[i%decisionSlots].Store(d)
}

// recent returns up to n decisions, newest first.
func (l *decisionLog) recent(n int) []*decision {
	end := l.next.Load()
	out := make([]*decision, 0, min(n, decisionSlots))
	for i := uint64(0); i < uint64(min(n, decisionSlots)) && i < end; i++ {
		if d := l.slots[(end-1-i)%decisionSlots].Load(); d != nil {
			out = append(out, d)
		}
	}
	return out
}

// attempt is one server tried for a request.
type attempt struct {
	server  string
	status  int // 0: no answer
	err     string
	ejected bool // it was out of rotation when tried
}

// decision is kept in structured form; the human reason is written only
// when the status page asks, so the request path does no formatting.
type decision struct {
	at       time.Time
	method   string
	host     string // forward mode: the host the client named (ignored for routing)
	path     string
	policy   Policy
	weight   float64
	size     int64
	sizeFrom string // "request", "seen", "assumed"
	server   string // the server that answered, "" if none
	status   int
	score    Score
	runnerUp string
	runScore Score
	fallback bool // every server was ejected
	attempts []attempt
	abuf     [2]attempt
	dur      time.Duration
}

// reason explains the pick in words.
func (d *decision) reason() string {
	var b strings.Builder
	if d.fallback {
		b.WriteString("every server is ejected: tried the least recently failed first")
	} else if len(d.attempts) > 0 {
		first := d.attempts[0].server
		switch d.policy {
		case PolicyPrice:
			fmt.Fprintf(&b, "%s: lowest egress %s/GB", first, usd(d.score[0]))
			if d.runnerUp != "" {
				fmt.Fprintf(&b, "; next %s at %s/GB", d.runnerUp, usd(d.runScore[0]))
			}
		case PolicyCombined:
			fmt.Fprintf(&b, "%s: lowest combined score %.3f (w=%.2f, net %s, egress %s/GB)",
				first, d.score[0], d.weight, ms(d.score[1]), usd(d.score[2]))
			if d.runnerUp != "" {
				fmt.Fprintf(&b, "; next %s at %.3f", d.runnerUp, d.runScore[0])
			}
		default:
			fmt.Fprintf(&b, "%s: lowest expected time %s for %d bytes (%s)", first, ms(d.score[0]), d.size, d.sizeFrom)
			if d.runnerUp != "" {
				fmt.Fprintf(&b, "; next %s at %s", d.runnerUp, ms(d.runScore[0]))
			}
		}
	}
	for i, a := range d.attempts {
		if i == len(d.attempts)-1 && a.status != 0 && a.status < 500 && a.status != 404 {
			break
		}
		switch {
		case a.err != "":
			fmt.Fprintf(&b, "; %s failed (%s)", a.server, a.err)
		case a.status == 404 && i < len(d.attempts)-1:
			fmt.Fprintf(&b, "; %s had no such object (404), asked the next", a.server)
		case a.status >= 500:
			fmt.Fprintf(&b, "; %s answered %d", a.server, a.status)
		}
	}
	if d.server == "" {
		b.WriteString("; no server answered")
	}
	return b.String()
}

func ms(sec float64) string {
	if math.IsInf(sec, 0) || math.IsNaN(sec) {
		return "unknown"
	}
	return fmt.Sprintf("%.2f ms", sec*1000)
}

func usd(v float64) string {
	if math.IsInf(v, 0) || math.IsNaN(v) {
		return "unknown"
	}
	return fmt.Sprintf("$%.4f", v)
}
