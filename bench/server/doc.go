// Package server holds the benchmarks of one metacdn server: run.sh
// compares its GET path with nginx and its upload ingest with a plain
// fsynced file write (see docs/benchmarks.md), ab.sh compares the ingest
// of server binaries uploaded to in turn, and the Go benchmarks here
// drive an in-process node over loopback so that the GET path can be
// profiled:
//
//	go test -run '^$' -bench Get/10KiB -benchmem -cpuprofile cpu.out ./bench/server/
//	go tool pprof -focus 'metacdn/node|net/http.\(\*conn\)' bench/server/server.test cpu.out
package server
