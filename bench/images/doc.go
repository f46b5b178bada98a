// Command images is the image-scaling study: what precomputing variants at
// upload costs, how fast variants made on request are served cold and
// cached, what ?w=auto saves clients on slow links, how precompute,
// dynamic and both compare over hot and cold request mixes, and whether
// replicas should receive variants or make their own.
//
//	go run ./bench/images            # full run, a few minutes
//	go run ./bench/images -quick     # seconds, for a smoke test
//
// It runs real parts in process: scaler on generated photos, storage on a
// temporary bbolt file, nodes (node.Start) on loopback ports, a toxiproxy
// bandwidth toxic for the measured slow link. Results go to
// docs/experiments/image-scaling/: CSV tables, PNG plots, summary.md and
// checks.txt (sanity checks; the run fails if a hard one fails).
// docs/experiments/image-scaling.md discusses them.
package main
