// Package node is one metacdn server: its bbolt storage, replication and
// image scaling behind chi handlers, with the listener, the loops and their
// shutdown. cmd/server, the local demo and the tests all start nodes
// through Start, so every way of running one behaves the same.
//
// # Endpoints
//
// The object API (PUT, GET, HEAD, DELETE under /v1/objects/, the listing,
// POST /v1/upload), /v1/variants/, the peer API under /v1/peers, the peer
// sync API under /v1/replication, /healthz and /metrics. CONTRACT.md in the
// repository's shared folder and the README describe each call.
//
// # Lifecycle
//
// Start listens first (so a port conflict fails fast), opens the database,
// builds the handlers, serves, then starts replication, which pulls from
// peers what the node missed. Close stops taking requests, stops the loops
// and closes the database last.
package node
