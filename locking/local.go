package locking

import (
	"context"
	"sync"
	"time"
)

// LocalLocker is the Locker for local mode (no Redis): the file lock alone
// serialises holders, and tokens come from the lock record (floor + 1, set by
// CheckFloor). Correct on one host, and across hosts only where file locks
// propagate. Safe for concurrent use; the zero value is not usable, use
// NewLocalLocker.
type LocalLocker struct {
	cfg config
}

// NewLocalLocker returns a local-mode locker.
func NewLocalLocker(opts ...Option) *LocalLocker { return &LocalLocker{cfg: newConfig(opts)} }

// Acquire returns at once with a lease that holds nothing: its Token is 0
// until CheckFloor sets it to the record's floor + 1, its Done closes only on
// Release or Abandon (never for loss) and Remaining is always ttl.
func (l *LocalLocker) Acquire(ctx context.Context, key string, ttl time.Duration) (Lease, error) {
	if ctx.Err() != nil {
		return nil, &Error{Op: "acquire", Key: key, Err: context.Cause(ctx)}
	}
	return newLocalLease(ctx, key, newLeaseID(leasePrefix(l.cfg.host)), 0, ttl, false), nil
}

// Adopt returns a local lease with the given id and token, for a command run
// by `lock -- CMD` that shares its parent's file lock. Release on it does
// nothing but end it.
func (l *LocalLocker) Adopt(ctx context.Context, key, leaseID string, token uint64, ttl time.Duration) (Lease, error) {
	return newLocalLease(ctx, key, leaseID, token, ttl, true), nil
}

type localLease struct {
	key, id string
	ttl     time.Duration
	adopted bool
	ctx     context.Context
	cancel  context.CancelCauseFunc
	done    chan struct{}

	mu    sync.Mutex
	token uint64
	err   error
}

func newLocalLease(parent context.Context, key, id string, token uint64, ttl time.Duration, adopted bool) *localLease {
	ctx, cancel := context.WithCancelCause(context.WithoutCancel(parent))
	return &localLease{key: key, id: id, ttl: ttl, adopted: adopted, ctx: ctx, cancel: cancel, done: make(chan struct{}), token: token}
}

func (le *localLease) Key() string                { return le.key }
func (le *localLease) ID() string                 { return le.id }
func (le *localLease) Done() <-chan struct{}      { return le.done }
func (le *localLease) Context() context.Context   { return le.ctx }
func (le *localLease) Committed() (Version, bool) { return Version{}, false }
func (le *localLease) Refresh(context.Context) error {
	return le.Err()
}

func (le *localLease) Token() uint64 {
	le.mu.Lock()
	defer le.mu.Unlock()
	return le.token
}

func (le *localLease) Remaining() time.Duration {
	if le.Err() != nil {
		return 0
	}
	return le.ttl
}

func (le *localLease) Err() error {
	le.mu.Lock()
	defer le.mu.Unlock()
	return le.err
}

// CheckFloor sets the token to the record's highest token of another lease
// + 1 (unless the lease already has a higher one), the local counterpart of
// the Redis fence.
func (le *localLease) CheckFloor(_ context.Context, rec Record) (bool, error) {
	n := floorOf(rec, le.id)
	le.mu.Lock()
	defer le.mu.Unlock()
	if le.err != nil {
		return false, le.err
	}
	if le.token > n {
		return false, nil
	}
	le.token = n + 1
	return true, nil
}

func (le *localLease) CheckCommit(rec Record) error {
	if err := le.Err(); err != nil {
		return err
	}
	return checkCommit(le.key, le.id, le.Token(), rec)
}

func (le *localLease) Release(context.Context, *Version, string) error {
	le.Abandon()
	return nil
}

func (le *localLease) Abandon() {
	le.mu.Lock()
	if le.err != nil {
		le.mu.Unlock()
		return
	}
	le.err = &Error{Op: "lease", Key: le.key, Err: errEnded}
	le.mu.Unlock()
	le.cancel(le.err)
	close(le.done)
}
