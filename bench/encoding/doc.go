// Command encoding is the JSON-or-Protobuf experiment: it measures what
// the choice of wire encoding costs in bytes, CPU, memory and time, on
// the real programs, and writes CSV files, plots and a summary into
// docs/experiments/encoding/ (docs/experiments/encoding.md is the
// write-up).
//
//	go run ./bench/encoding            # the full run, 7-10 minutes on 2 cores
//	go run ./bench/encoding -quick     # tiny sizes, seconds
//
// # Parts
//
//   - micro: encode and decode of one upload message per content size and
//     kind, and of the replication messages, in process.
//   - loopback, slow: end-to-end uploads with uploader.Uploader to a real
//     cmd/server process, through a byte-counting TCP relay and, on the
//     slow link, a toxiproxy bandwidth limit; the server's CPU time and
//     peak anonymous memory come from /proc.
//   - repl, slowrepl: three servers with --encoding json or protobuf; the
//     lag from an upload's ack until both peers serve the object, a burst
//     of small objects, and the idle heartbeat traffic.
//
// # Sanity checks
//
// Hard checks fail the run (exit status 1): every stored and replicated
// object's digest equals the source's; message sizes equal the codecs'
// arithmetic (base64's 4*ceil(n/3) plus the envelope for JSON, tag and
// varint length for Protobuf); bytes on the wire repeat exactly across
// repetitions. Soft checks only warn: wall times that vary more than the
// noise allows (another load on the machine).
package main
