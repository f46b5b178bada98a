package replication

import (
	"errors"
	"fmt"
)

// Errors returned by the replication package.
var (
	// ErrNoClientCert is returned when a sync call arrives without a
	// verified client certificate while TLS is on.
	ErrNoClientCert = errors.New("a client certificate signed by the cluster CA is required")
	// ErrUnknownPeer is returned when a peer id is not in the membership table.
	ErrUnknownPeer = errors.New("unknown peer")
	// ErrSelf is returned when an admin call would remove or replace this server itself.
	ErrSelf = errors.New("this server cannot be its own peer")
	// ErrBadPeer is returned when a peer given to the admin API has no usable URL.
	ErrBadPeer = errors.New("peer needs an http:// or https:// url")
	// ErrBlobUnavailable is returned when no peer could supply a blob an
	// entry needs.
	ErrBlobUnavailable = errors.New("blob not available from any peer")
)

// StatusError is an error answer from a peer.
type StatusError struct {
	Op     string // the call, e.g. "push"
	Status int    // the HTTP status
	Msg    string // the peer's message
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("%s: peer answered %d: %s", e.Op, e.Status, e.Msg)
}
