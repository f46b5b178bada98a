// Package replication keeps every metacdn server holding every object.
//
// A Replicator ships the local replication log to peers, pulls what it
// missed, exchanges heartbeats that carry membership and log heads, and
// serves the peer sync API (/v1/replication) and the peer admin API
// (/v1/peers). It depends on storage only through the Store interface and
// never on the node package.
//
// # Log shipping
//
// Every write or delete appends a LogEntry (origin, seq) to the local log in
// the same bbolt transaction as the write. After such a commit Notify wakes
// one push loop per peer, which sends the entries of this server's own
// origin that the peer has not acknowledged. The receiver fetches each blob
// it lacks from the sender before it applies the entry, so an entry is only
// applied once its content is on disk. Entries of other origins travel by
// pull: every server periodically asks each peer for the entries after its
// own per-origin heads, so a full mesh never forwards in loops and a missed
// push costs at most one heartbeat interval.
//
// # Membership
//
// Heartbeats carry the sender's identity, its whole membership table
// (removed rows included, as tombstones) and its log heads. Rows merge by
// version, a hybrid logical clock; the larger wins, so a removed server
// stays removed until an admin adds it again.
//
// # Conflicts
//
// storage.Apply orders writes to one key by (version, origin): last writer
// wins, and a tombstone is a write. DESIGN.md says what that promises.
package replication
