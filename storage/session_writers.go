package storage

import (
	"context"
	"fmt"
	"sync"
)

// sessionWriters lets one UploadWriter at a time write to a session.
//
// A client whose stream breaks asks where to resume and sends a new
// stream at once. The server may not have seen the break yet: the old
// writer can still be committing a batch. Without this, the client would
// read a Received the old writer is about to pass, and the new stream
// would be refused with ErrOffsetMismatch after sending a batch in vain.
// With it, the new writer, and the status a resuming client reads, wait
// until the old writer has committed what it will and closed.
type sessionWriters struct {
	mu   sync.Mutex
	busy map[string]chan struct{} // closed when the session's writer closes
}

// acquire waits until no writer holds session id, then holds it until
// release is called.
func (s *sessionWriters) acquire(ctx context.Context, id string) (release func(), err error) {
	for {
		s.mu.Lock()
		done, busy := s.busy[id]
		if !busy {
			if s.busy == nil {
				s.busy = make(map[string]chan struct{})
			}
			done = make(chan struct{})
			s.busy[id] = done
			s.mu.Unlock()
			return func() {
				s.mu.Lock()
				delete(s.busy, id)
				s.mu.Unlock()
				close(done)
			}, nil
		}
		s.mu.Unlock()
		if err := waitFor(ctx, done, id); err != nil {
			return nil, err
		}
	}
}

// settle waits until no writer holds session id.
func (s *sessionWriters) settle(ctx context.Context, id string) error {
	release, err := s.acquire(ctx, id)
	if err != nil {
		return err
	}
	release()
	return nil
}

func waitFor(ctx context.Context, done <-chan struct{}, id string) error {
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("session %s: %w (%w)", id, ErrSessionBusy, ctx.Err())
	}
}
