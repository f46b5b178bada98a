package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"time"

	"metacdn/fixtures"
	"metacdn/node"
)

// ReplResult compares, per upload and per peer, the bytes replication
// ships now (the original: measured) with what shipping the variants too
// would add (their sizes), and prices both against computing the variants
// on the peer.
type ReplResult struct {
	Input         string
	OrigBytes     int64
	Measured      int64 // bytes the receiving peer counted for this upload
	VariantBytes  int64 // would be added by shipping variants
	PeerCPU       time.Duration
	EgressUSD     float64 // of the variant bytes, per peer
	CPUUSD        float64 // of computing them on the peer
	BreakEvenRate float64 // egress $/GB at which both cost the same
}

// Price facts, from the aws row of fixtures/prices.json: internet egress
// per GB, and a t3.small (2 vCPU, per its notes) per hour.
type prices struct {
	EgressPerGB, ServerPerHour float64
	VCPUs                      int
}

func loadPrices() (prices, error) {
	var doc struct {
		Providers []struct {
			Provider         string
			EgressUSDPerGB   float64 `json:"egress_usd_per_gb"`
			ServerUSDPerHour float64 `json:"server_usd_per_hour"`
		}
	}
	if err := json.Unmarshal(fixtures.Prices, &doc); err != nil {
		return prices{}, err
	}
	for _, p := range doc.Providers {
		if p.Provider == "aws" {
			return prices{EgressPerGB: p.EgressUSDPerGB, ServerPerHour: p.ServerUSDPerHour, VCPUs: 2}, nil
		}
	}
	return prices{}, fmt.Errorf("no aws row in fixtures/prices.json")
}

// measureRepl uploads each input to one node and counts the bytes its
// peer receives until the object is there.
func measureRepl(inputs []Input, pre []PrecomputeResult, dir string) ([]ReplResult, prices, error) {
	pr, err := loadPrices()
	if err != nil {
		return nil, pr, err
	}
	a, err := startNode("r1", filepath.Join(dir, "repl-a"), func(c *node.Config) { c.Images.Scale = node.ScaleDynamic })
	if err != nil {
		return nil, pr, err
	}
	defer a.Close()
	b, err := startNode("r2", filepath.Join(dir, "repl-b"), func(c *node.Config) {
		c.Images.Scale = node.ScaleDynamic
		c.Peers = []string{a.URL()}
	})
	if err != nil {
		return nil, pr, err
	}
	defer b.Close()
	const metric = "metacdn_replication_bytes_received_total"
	// A first object proves the pair is joined before anything is counted.
	if err := put(a.URL(), "warmup", "text/plain", []byte("warm up")); err != nil {
		return nil, pr, err
	}
	if err := waitObject(b.URL(), "warmup"); err != nil {
		return nil, pr, err
	}
	var out []ReplResult
	for i, in := range inputs {
		before, err := metricSum(b.URL(), metric)
		if err != nil {
			return nil, pr, err
		}
		key := "repl/" + in.Name
		if err := put(a.URL(), key, in.contentType(), in.Data); err != nil {
			return nil, pr, err
		}
		if err := waitObject(b.URL(), key); err != nil {
			return nil, pr, err
		}
		after, err := metricSum(b.URL(), metric)
		if err != nil {
			return nil, pr, err
		}
		r := ReplResult{Input: in.Name, OrigBytes: int64(len(in.Data)), Measured: int64(after - before),
			VariantBytes: pre[i].StoredBytes, PeerCPU: pre[i].CPU}
		r.EgressUSD = float64(r.VariantBytes) / 1e9 * pr.EgressPerGB
		r.CPUUSD = r.PeerCPU.Hours() * pr.ServerPerHour / float64(pr.VCPUs)
		r.BreakEvenRate = r.CPUUSD / (float64(r.VariantBytes) / 1e9)
		out = append(out, r)
		logf("repl %-16s original %8d B, peer received %8d B; variants would add %7d B (%.1f%%): egress %.2e $ vs cpu %.0f ms = %.2e $ (break-even %.4f $/GB)",
			in.Name, r.OrigBytes, r.Measured, r.VariantBytes, 100*float64(r.VariantBytes)/float64(r.Measured),
			r.EgressUSD, ms(r.PeerCPU), r.CPUUSD, r.BreakEvenRate)
	}
	return out, pr, nil
}

func waitObject(base, key string) error {
	deadline := time.Now().Add(time.Minute)
	for {
		a, err := do(http.MethodHead, base+"/v1/objects/"+key, nil)
		if err == nil && a.Status == http.StatusOK {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not replicate in a minute", key)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
