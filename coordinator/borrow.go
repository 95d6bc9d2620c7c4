package coordinator

import (
	"context"
	"crypto/rand"
	"fmt"
	"strings"
	"sync"

	"github.com/sharedwrite/sharedwrite/internal/quote"
	"github.com/sharedwrite/sharedwrite/locking"
)

// borrowTurns serialises the operations of this process that borrow one key's
// lease and lock (nested in a Lock function, or adopted from a parent
// process): the lock they share excludes other processes, not each other.
// The processes that share one lease (its holder's operations nested in its
// Lock function, and those of the processes that adopted it) also take a
// turn on the volume (locking.LockDir.Turn) in their scope (held.turn), once
// for all of one process's operations in that scope at a time.
type borrowTurns struct {
	mu   sync.Mutex
	m    map[string]*keyTurn
	host map[string]*hostTurn // by key and scope
}

// keyTurn is one key's turn: ch holds a value while an operation has the
// turn; users counts the operations that have it or wait for it, and the
// last to leave drops the entry (a process borrows ever new keys).
type keyTurn struct {
	ch    chan struct{}
	users int
}

// hostTurn is this process's hold of a key's turn in one scope among the
// processes sharing a lease: taken by the first of its operations that needs
// it, ended (lock.End) when the last of them leaves.
type hostTurn struct {
	users int
	got   chan struct{}     // closed when the first user's wait ended
	lock  *locking.TurnLock // set when the turn was taken
	err   error             // set when the first user's wait failed
}

// turn waits for key's turn (key: the key and its scope), or for ctx to end
// (its cause), and returns the function that ends it.
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

// hostTurn joins this process's hold of a turn (key: the key and its scope)
// among the processes sharing a lease, taking it (take) when this process
// does not hold it yet, and returns the function that ends this operation's
// part. A user that waited for another's take which failed (its context
// ended) takes it itself, within its own ctx.
// errWaitTurn is the error of a wait behind another operation of this
// process for the turn; its cause is ctx's.
func (b *borrowTurns) hostTurn(ctx context.Context, key string, take func(context.Context) (*locking.TurnLock, error), errWaitTurn func(context.Context) error) (func(), *locking.TurnLock, error) {
	for {
		b.mu.Lock()
		if b.host == nil {
			b.host = map[string]*hostTurn{}
		}
		t := b.host[key]
		first := t == nil
		if first {
			t = &hostTurn{got: make(chan struct{})}
			b.host[key] = t
		}
		t.users++
		b.mu.Unlock()
		if first {
			lock, err := take(ctx)
			b.mu.Lock()
			t.lock, t.err = lock, err
			if err != nil {
				delete(b.host, key)
			}
			b.mu.Unlock()
			close(t.got)
			if err != nil {
				return nil, nil, err
			}
			return func() { b.leaveHost(key, t) }, lock, nil
		}
		select {
		case <-t.got:
		case <-ctx.Done():
			b.leaveHost(key, t)
			return nil, nil, errWaitTurn(ctx)
		}
		if t.err == nil {
			return func() { b.leaveHost(key, t) }, t.lock, nil
		}
	}
}

// leaveHost ends one user's part in the host turn t of key; the last to
// leave ends the turn.
func (b *borrowTurns) leaveHost(key string, t *hostTurn) {
	b.mu.Lock()
	t.users--
	last := t.users == 0 && t.err == nil && t.lock != nil
	if last && b.host[key] == t {
		delete(b.host, key)
	}
	b.mu.Unlock()
	if last {
		t.lock.End()
	}
}

// borrowMark marks the context an operation on a borrowed key hands to its
// caller's function, with the scope of its turn: an operation nested in that
// function, on the same key in the same scope, already has the turn. (The
// operations in a borrowed Lock's function have a scope of their own, and
// take turns among themselves.)
type borrowMark struct {
	c   *Coordinator
	key string
}

// localTurn takes h's turn among this process's operations in h's scope,
// unless ctx is that of an operation that has it. The wait is bounded by the
// lease's TTL: an operation nested in another's function but made with an
// outer context would otherwise wait for the turn of the operation it runs
// in, for ever.
func (c *Coordinator) localTurn(ctx context.Context, h *held) (func(), error) {
	if mark, _ := ctx.Value(borrowMark{c, h.key}).(string); mark == h.turn {
		return func() {}, nil
	}
	tctx, cancel := context.WithTimeoutCause(ctx, c.cfg.leaseTTL, fmt.Errorf("%w: another operation of this process holds the borrowed key's turn (one nested in its function must use the context that function was given)", ErrNotObtained))
	defer cancel()
	return c.borrowed.turn(tctx, h.key+"\x00"+h.turn)
}

// fileMark marks the context of a streaming File's take (Create): on a
// borrowed key it takes no turn among this process's operations while it is
// written, since its caller may write the key again before committing it,
// which would then wait for itself; its Commit takes the turn. It still takes
// the lease's turn among the processes that share the lease.
type fileMark struct {
	c   *Coordinator
	key string
}

// borrowTurn takes key's turns for a borrowed holder h: its turn among this
// process's operations, unless ctx is that of an operation that already has
// it, and the lease's turn in h's scope among the processes sharing the lease
// (a Lock's holder may hand its lease to several), which this process's
// operations in that scope share.
func (c *Coordinator) borrowTurn(ctx context.Context, h *held) (*held, error) {
	unborrow, err := func() {}, error(nil)
	if ctx.Value(fileMark{c, h.key}) == nil {
		unborrow, err = c.localTurn(ctx, h)
	}
	if err == nil {
		// The processes that adopted the lease share its lock too, and so
		// do the operations nested in the holder's own Lock function.
		var end func()
		end, h.turnLock, err = c.sharedTurn(ctx, h.key, h.turn, h.lease.ID())
		if err == nil {
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

// sharedTurn joins this process's hold of key's turn in scope among the
// processes sharing the lease leaseID (hostTurn). A scope handed down by a
// lock within a lock (see Lock) is good only while that lock still hands it
// down: taken after it ended, the turn is refused (ErrNotHeld), since what
// it excluded no longer does.
func (c *Coordinator) sharedTurn(ctx context.Context, key, scope, leaseID string) (func(), *locking.TurnLock, error) {
	return c.borrowed.hostTurn(ctx, key+"\x00"+scope, func(ctx context.Context) (*locking.TurnLock, error) {
		t, err := c.locks.Turn(ctx, key, scope)
		if err != nil {
			return nil, err
		}
		i := strings.LastIndex(scope, "#")
		if scope == leaseID || i < 0 {
			return t, nil
		}
		parent := scope[:i]
		ok, err := c.locks.Handed(key, parent, scope)
		if err == nil && !ok {
			err = &locking.Error{Op: "check the turn's scope", Key: key, Path: locking.TurnPath(key, parent),
				Err: fmt.Errorf("%w: the lock that handed this lease down has ended", locking.ErrNotHeld)}
		}
		if err != nil {
			t.End()
			return nil, err
		}
		return t, nil
	}, func(ctx context.Context) error {
		return &locking.Error{Op: "wait for the turn", Key: key, Path: locking.TurnPath(key, scope),
			Err: fmt.Errorf("%w: another operation of this process was taking it: %w", ErrNotObtained, context.Cause(ctx))}
	})
}

// handDown makes the scope of a borrowed Lock h's function and children
// (h.childTurn, within h's own) and records it in h's turn file. The returned
// function withdraws it: it waits for the child scope's turn (an operation
// in it still running; the wait ends only if the lease is lost, not with the
// Lock's context) and then removes the record, so that what the Lock handed
// down ends with it.
func (c *Coordinator) handDown(ctx context.Context, h *held) (func(), error) {
	h.childTurn = h.turn + "#" + rand.Text()
	if err := h.turnLock.Hand(h.childTurn); err != nil {
		return nil, err
	}
	return func() {
		end, _, err := c.sharedTurn(h.lease.Context(), h.key, h.childTurn, h.lease.ID())
		if err != nil && h.lease.Err() == nil {
			c.log.WarnContext(ctx, "withdrawing a turn scope without its turn", "key", quote.Value(h.key), "err", err)
		}
		if err := h.turnLock.Unhand(h.childTurn); err != nil {
			c.log.WarnContext(ctx, "the turn scope handed down is not withdrawn", "key", quote.Value(h.key), "err", err)
		}
		if err == nil {
			end()
		}
	}, nil
}
