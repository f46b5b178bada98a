package storage

import (
	"fmt"

	"go.etcd.io/bbolt"
)

// PutPeer writes the membership row p.ID as given (the caller orders rows
// by Version); a removed peer is written with Removed set and kept as a
// tombstone. The clock moves past p.Version.
func (db *DB) PutPeer(p Peer) error {
	if p.ID == "" {
		return fmt.Errorf("put peer: empty id")
	}
	v, err := encodePeer(p)
	if err != nil {
		return fmt.Errorf("put peer %q: %w", p.ID, err)
	}
	err = db.update(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketPeers).Put([]byte(p.ID), v)
	})
	if err != nil {
		return fmt.Errorf("put peer %q: %w", p.ID, err)
	}
	db.clock.observe(p.Version)
	return nil
}

// Peers returns the membership table sorted by ID, tombstones included.
func (db *DB) Peers() ([]Peer, error) {
	var out []Peer
	err := db.view(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketPeers).ForEach(func(k, v []byte) error {
			p, err := decodePeer(k, v)
			if err != nil {
				return err
			}
			out = append(out, p)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("peers: %w", err)
	}
	return out, nil
}
