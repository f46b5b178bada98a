package scenario

import "errors"

var (
	// ErrNoScenarios is returned by Load when the directory holds no
	// scenario file.
	ErrNoScenarios = errors.New("no scenario files")
	// ErrInvalid is returned by Load for a scenario file that cannot be
	// played.
	ErrInvalid = errors.New("invalid scenario")
	// ErrMismatch is returned by Run when a scenario's servers are not the
	// cluster's.
	ErrMismatch = errors.New("scenario does not fit the cluster")
)
