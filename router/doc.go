// Package router is metacdn's client-side routing proxy: it learns the CDN
// servers over the wire, measures them, reads their providers' prices, and
// sends each request to the server its policy picks, failing over to the
// next one when a server fails. It knows servers and prices only through
// their HTTP APIs (GET /v1/peers, GET /healthz, GET /v1/prices).
//
// # Discovery
//
// The proxy asks a seed (--server) for GET /v1/peers and refreshes the
// list every DiscoveryInterval from any healthy known server, the seeds
// last. Rows marked removed are dropped at once; a server missing from
// three answers in a row is forgotten. Servers the cluster reports dead
// are not picked. Each server's URL is the one it advertises.
//
// # Measurement
//
// Every ProbeInterval each server gets GET /healthz. A 2xx answer on a
// reused connection is an RTT sample: rtt = rtt + Alpha*(sample - rtt),
// jitter = jitter + Alpha*(|sample - rtt| - jitter). Responses of at
// least MinThroughputSize bytes give a throughput sample (bytes / time
// of the body copy), smoothed the same way; a throughput figure no
// transfer refreshed for ThroughputTTL counts as unknown again. A
// failure (connection refused, timeout, 5xx, probe or real request)
// ejects the server for EjectBase * 2^(consecutive failures - 1), at
// most EjectMax; after that time it is probed, and returns only when a
// probe succeeds. A request
// it serves without a 5xx resets the back-off. Errors never feed the RTT
// or throughput figures, so a server that fails fast never looks fast.
// A failed probe also gives up the idempotent requests waiting for the
// server's answer headers, which then go to the next server (see wait).
//
// # Policies
//
// Ejected servers are not candidates. For the healthy ones (lower wins):
//
//	net      = rtt + jitter + size/throughput            (seconds)
//	network  = net; ties: egress price
//	price    = egress_usd_per_gb; ties: server_usd_per_hour, then net
//	combined = w*max(net,1ms)/best_net + (1-w)*max(egress,$0.001)/best_egress
//
// where best_x is the lowest (floored) x among the healthy candidates and
// w is the Weight (--weight, default 0.5). Both terms are 1 for the best
// server and grow with the ratio to it, so neither unit dominates: at
// w=0.5 a server twice as slow is worth it if it is more than twice as
// cheap. size is the request body for uploads, the size this proxy saw
// for the same path and query before, else AssumedSize (16 KiB: the
// figure is then latency-dominated). Unknown figures: RTT and jitter
// count as the worst known (a probe fixes that within an interval), an
// unknown throughput adds no transfer time (so the server gets the next
// large transfer, which measures it), a missing
// price row sorts last under price and counts as the worst known price
// under combined. If every server is ejected they are tried least
// recently failed first.
//
// # Proxying
//
// Reverse mode (GET http://PROXY/v1/objects/cat.jpg) and forward mode
// (absolute-form GET http://any-host/v1/objects/cat.jpg, as curl -x sends)
// are routed alike, by path: the host in a forward request is ignored.
// CONNECT is refused (a tunnel would hide the path). Bodies are streamed
// both ways. GET, HEAD and OPTIONS without a body are retried on the next
// best server after a failure, before any byte reaches the client, and
// after a 404 (a server may lag in replication) until MaxNotFound servers
// said 404 or no healthy one is left; other methods go to the best server
// once. Every routed answer carries X-Cdn-Server and X-Cdn-Policy.
//
// # Hot path
//
// The request path takes no lock: the server table and the price table
// are immutable snapshots behind atomic pointers, per-server figures are
// atomics, rankings and copy buffers are pooled, and the decision log is
// a lock-free ring whose reasons are written only when /_proxy/status
// asks. GETs and HEADs without a body to http:// servers skip
// http.Transport's writer and reader goroutines (upstream.go), and their
// answers are parsed by a lean reader that caches each connection's
// header lines (upresp.go). Clients are served by a Frontend
// (serve.go): keep-alive GET and HEAD requests are read (reqparse.go)
// and answered on the connection's goroutine, header and body in one
// writev; every other connection goes to net/http's server.
package router
