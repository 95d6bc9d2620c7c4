package coordinator

import (
	"context"
	"fmt"
	"sync"
)

// borrowTurns serialises the operations of this process that borrow one key's
// lease and lock (nested in a Lock function, or adopted from a parent
// process): the lock they share excludes other processes, not each other.
type borrowTurns struct {
	mu sync.Mutex
	m  map[string]*keyTurn
}

// keyTurn is one key's turn: ch holds a value while an operation has the
// turn; users counts the operations that have it or wait for it, and the
// last to leave drops the entry (a process borrows ever new keys).
type keyTurn struct {
	ch    chan struct{}
	users int
}

// turn waits for key's turn, or for ctx to end (its cause), and returns the
// function that ends it.
func (b *borrowTurns) turn(ctx context.Context, key string) (func(), error) {
	b.mu.Lock()
	if b.m == nil {
		b.m = map[string]*keyTurn{}
	}
	t := b.m[key]
	if t == nil {
		t = &keyTurn{ch: make(chan struct{}, 1)}
		b.m[key] = t
	}
	t.users++
	b.mu.Unlock()
	select {
	case t.ch <- struct{}{}:
		return func() {
			<-t.ch
			b.leave(key, t)
		}, nil
	case <-ctx.Done():
		b.leave(key, t)
		return nil, context.Cause(ctx)
	}
}

// leave ends one user's part in key's turn t.
func (b *borrowTurns) leave(key string, t *keyTurn) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if t.users--; t.users == 0 {
		delete(b.m, key)
	}
}

// borrowMark marks the context an operation on a borrowed key hands to its
// caller's function: an operation nested in that function, on the same key,
// already has the turn.
type borrowMark struct {
	c   *Coordinator
	key string
}

// borrowTurn takes key's turn for a borrowed holder h, unless ctx is that of
// an operation that already has it.
func (c *Coordinator) borrowTurn(ctx context.Context, h *held) (*held, error) {
	if ctx.Value(borrowMark{c, h.key}) != nil {
		return h, nil
	}
	// Bounded by the lease's TTL: an operation nested in another's function
	// but made with an outer context would otherwise wait for the turn of
	// the operation it runs in, for ever.
	tctx, cancel := context.WithTimeoutCause(ctx, c.cfg.leaseTTL, fmt.Errorf("%w: another operation of this process holds the borrowed key's turn (one nested in its function must use the context that function was given)", ErrNotObtained))
	unborrow, err := c.borrowed.turn(tctx, h.key)
	cancel()
	if err == nil && h.adopted {
		// The other processes that adopted the lease share its lock too.
		var end func()
		if end, err = c.locks.Turn(ctx, h.key, h.lease.ID()); err == nil {
			local := unborrow
			unborrow = func() {
				end()
				local()
			}
		} else {
			unborrow()
		}
	}
	if err != nil {
		if h.adopted {
			h.lease.Abandon()
		}
		return nil, wrap("borrowed lock", h.key, err)
	}
	h.unborrow = unborrow
	return h, nil
}
