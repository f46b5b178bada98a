// Package migrations upgrades a metacdn node's bbolt file to the schema
// this build writes.
//
// # Versions
//
// The meta bucket holds the schema version under the key "schema" as an
// 8-byte big-endian integer. A file without a meta bucket is new (version
// 0). Each step moves the file one version up; Migrate runs every step the
// file is missing in one write transaction, so a crash leaves either the old
// or the new layout, never a mix.
//
//   - v1: buckets meta, objects, blobs, chunks, variants, peers, log,
//     uploads and staging.
//   - v2: adds the dynamic-variant index (bucket dynvariants, keyed by
//     creation time, source SHA-256 and width) and its counter in meta, so
//     that the image code can cap resized-on-request variants without
//     scanning every variant.
//
// # Formats
//
// The steps decode only what they need of the records they move, and pin
// that knowledge here rather than importing storage: storage imports this
// package, and a step must keep reading the format of the version it
// upgrades from even after storage's own encoders move on.
package migrations
