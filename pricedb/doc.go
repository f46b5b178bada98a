// Package pricedb is metacdn's price service: what each cloud provider
// charges for the traffic and the servers a metacdn node runs on. The proxy
// polls it to route by price.
//
// # Rows
//
// A Price is one provider's row: egress_usd_per_gb (network cost per GB
// out) and server_usd_per_hour are required; request_usd_per_10k, region,
// egress tiers, source, as_of, notes and a map of further named costs are
// optional; any other top-level number is one more named cost. DecodePrice
// parses a row strictly: unknown fields that are not numbers, missing,
// non-numeric, negative or non-finite costs are errors that name the field
// (a *FieldError wrapping ErrInvalid).
//
// # Versions
//
// Every change (a put that changes a row, a delete, a seed) bumps one
// global version, persisted with the rows. The version together with a
// random epoch made when the database file is created forms the ETag of
// GET /v1/prices, so a poller that sends If-None-Match gets 304 at the cost
// of one atomic load, and a recreated database never matches an old ETag.
//
// # Layout
//
// store.go holds the bbolt half (Store) and imports no net/http; server.go
// holds the chi handlers (Server); service.go starts both with an
// http.Server (Start, Run) for cmd/priceinfo, the local demo and tests.
package pricedb
