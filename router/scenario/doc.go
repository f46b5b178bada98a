// Package scenario plays metacdn's routing scenarios (fixtures/scenarios)
// against a running cluster and reports, per scenario and object, the
// server each policy was expected to pick and the one the proxy picked.
//
// # Parts
//
// A Lab puts a toxiproxy link in front of every server; servers advertise
// the link's address, so the proxy reaches them only through it and sees
// the latency and bandwidth each scenario sets. Run starts one in-process
// router.Router and plays the scenarios in order without restarting
// anything, so each scenario also checks that the proxy follows latencies
// and prices that change while it runs.
//
// Who starts the servers and the price service is the caller's choice:
// router's TestScenarios runs the real programs as processes,
// cmd/scenarios runs them in process (node.Start, pricedb.Start).
//
// # Verdicts
//
// A check settles: GETs go through the proxy until one is answered by the
// expected server (its measurements need a few probes, a large object one
// transfer, to see a change), then four of the next five must be too (one
// may go astray when a loaded machine delays a probe by tens of
// milliseconds).
package scenario
