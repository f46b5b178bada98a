// Package uploader is the client side of the upload protocol (POST
// /v1/upload): it sends files in chunk messages with their SHA-256, in
// JSON or Protobuf, streams a large file in one request while the digest
// is computed apart, and resumes a broken stream from what the server
// committed.
//
// It lives apart from package node so that the upload program links
// only this, wire and net/http, not a whole server: with node's chi,
// Prometheus and image code linked in, the program took 6.0-8.9 ms from
// exec to its first connect; on its own, built without cgo as the
// Taskfile builds it, 4.3-4.5 ms (docs/benchmarks.md, "Uploads: the
// client's start").
package uploader
