package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"metacdn/fixtures/ports"
	"metacdn/node"
	"metacdn/pricedb"
	"metacdn/router/scenario"
)

const adminToken = "scenarios-admin-token"

// errFailed is returned when a pick was wrong; the table says which.
var errFailed = errors.New("some policies picked another server than expected")

// Run starts the cluster the scenarios describe, plays them and writes
// the table to stdout; progress and failure details go to stderr.
func Run(ctx context.Context, cfg Config, stdout, stderr io.Writer) error {
	scs, err := scenario.Load(cfg.Dir)
	if err != nil {
		return fmt.Errorf("%w\nTry: run from the repository's root, or scenarios --dir fixtures/scenarios", err)
	}
	log, err := node.NewLogger(stderr, cfg.LogLevel, "text")
	if err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	dir, err := os.MkdirTemp("", "metacdn-scenarios-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	lab := scenario.NewLab()
	defer lab.Close()

	// Every server advertises its link, so peers and the proxy reach it
	// only through toxiproxy; the links need the servers' ports first.
	var c scenario.Cluster
	for _, s := range scs[0].Servers {
		listen, err := ports.Free()
		if err != nil {
			return err
		}
		u, err := lab.Link(s.ID, listen)
		if err != nil {
			return err
		}
		c.Nodes = append(c.Nodes, scenario.Node{ID: s.ID, Provider: s.Provider, URL: u, Direct: "http://" + listen})
	}
	var nodes []*node.Node
	defer func() {
		for i := len(nodes) - 1; i >= 0; i-- {
			nodes[i].Close()
		}
	}()
	for i, n := range c.Nodes {
		nc := node.DefaultConfig()
		nc.ID, nc.Provider, nc.Advertise = n.ID, n.Provider, n.URL
		nc.Listen = n.Direct[len("http://"):]
		nc.DataDir = filepath.Join(dir, n.ID)
		nc.AdminToken = adminToken
		nc.HeartbeatInterval = 200 * time.Millisecond
		for j, p := range c.Nodes {
			if j != i {
				nc.Peers = append(nc.Peers, p.URL)
			}
		}
		nd, err := node.Start(ctx, nc, log)
		if err != nil {
			return fmt.Errorf("start server %s: %w", n.ID, err)
		}
		nodes = append(nodes, nd)
	}
	pc := pricedb.DefaultConfig()
	pc.Listen, pc.DataDir, pc.AdminToken = "127.0.0.1:0", filepath.Join(dir, "priceinfo"), adminToken
	pc.Seed, pc.Logger = scenario.SeedJSON(scs[0]), log.With("component", "priceinfo")
	prices, err := pricedb.Start(ctx, pc)
	if err != nil {
		return fmt.Errorf("start priceinfo: %w", err)
	}
	defer prices.Close()
	c.PriceInfo, c.AdminToken, c.Lab = prices.URL(), adminToken, lab

	fmt.Fprintf(stderr, "playing %d scenarios from %s: %d servers behind toxiproxy, priceinfo, one proxy\n", len(scs), cfg.Dir, len(c.Nodes))
	start := time.Now()
	results, err := scenario.Run(ctx, c, scs, scenario.Options{Settle: cfg.Settle, Progress: func(r scenario.Result) {
		verdict := "ok"
		if !r.OK() {
			verdict = "FAIL"
		}
		fmt.Fprintf(stderr, "  %s %s: %s\n", r.Scenario, r.Object, verdict)
	}})
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "done in %s\n\n", time.Since(start).Round(100*time.Millisecond))
	if err := scenario.WriteTable(stdout, results); err != nil {
		return err
	}
	failed := false
	for _, r := range results {
		for _, pk := range r.Picks {
			if !pk.OK || (cfg.Verbose && pk.Detail != "") {
				fmt.Fprintf(stderr, "\n%s %s under %s: picked %s, want %s\n%s\n", r.Scenario, r.Object, pk.Policy, pk.Got, pk.Want, pk.Detail)
			}
			failed = failed || !pk.OK
		}
	}
	if failed {
		return errFailed
	}
	return nil
}
