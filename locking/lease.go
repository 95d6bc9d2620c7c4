package locking

import (
	"context"
	"time"
)

// Locker hands out leases on keys (canonical paths relative to the root).
// RedisLocker and LocalLocker implement it, so the coordinator runs the same
// code with Redis or in local mode.
type Locker interface {
	// Acquire obtains the lease on key for ttl, waiting until ctx ends. Errors:
	// ErrNotObtained (wrapped in *HolderError) when ctx ended while another
	// holder held it, ErrUnavailable when ctx ended while Redis could not be
	// reached.
	Acquire(ctx context.Context, key string, ttl time.Duration) (Lease, error)
}

// Lease is a held lease. Its methods are safe for concurrent use.
type Lease interface {
	// Key is the canonical relative path the lease is for.
	Key() string
	// ID is the lease value: "<host>/<pid>/<locker>/<random hex>" for a
	// RedisLocker, "<host>/<pid>/<random hex>" for a LocalLocker.
	ID() string
	// Token is the fencing token; it changes only when CheckFloor raises it.
	Token() uint64
	// Remaining is how long the lease is still certainly valid: until
	// start + TTL − drift, where start is the send time of the last
	// successful acquire or refresh on CLOCK_BOOTTIME and drift is 1% of the
	// TTL + 2 ms. 0 once lost, released or abandoned.
	Remaining() time.Duration
	// Done is closed when the lease is lost, released or abandoned.
	Done() <-chan struct{}
	// Context is cancelled when Done closes, with cause ErrLeaseLost when the
	// lease was lost (ErrNotHeld after Release or Abandon). It carries the
	// values of the context Acquire was called with.
	Context() context.Context
	// Err is nil while held, an error wrapping ErrLeaseLost after a loss and
	// ErrNotHeld after Release or Abandon.
	Err() error
	// Committed is the committed version Redis returned on acquire (false:
	// none, or local mode).
	Committed() (Version, bool)
	// CheckFloor is called with the lock record right after the file lock,
	// before any read or command. Redis mode: when the record's floor token is
	// ≥ Token() under another lease (Redis handed a token out again after a
	// failover or a restart), it raises the Redis counter past it with an
	// ownership-verifying script and takes the new token (raised = true).
	// Local mode: Token becomes floor + 1.
	CheckFloor(ctx context.Context, rec Record) (raised bool, err error)
	// CheckCommit returns an error wrapping ErrFenced when rec.Floor.Token >
	// Token(), or equal under another lease, and the loss error when the lease
	// is lost.
	CheckCommit(rec Record) error
	// Refresh extends the lease now (the watchdog does so every TTL/3).
	// ErrLeaseLost when another value holds the key.
	Refresh(ctx context.Context) error
	// Release ends the lease in one round trip (repeated, within the
	// lease's TTL, while Redis replies with a refusal a retry can cure, such
	// as READONLY after a failover): compare-and-delete, store
	// committed (when not nil) in Redis and publish the release and, for
	// committed, the change event for path. ErrLeaseLost (wrapped) when the
	// lease was no longer held; committed is stored anyway when it is newer
	// than Redis's. An adopted lease is released by its owner: its Release
	// only publishes committed and stops its watchdog. A PUBLISH that Redis
	// refuses (an ACL without it) does not fail the release: the lease is
	// freed and committed stored all the same, and a RedisLocker logs the
	// refusal once (watchers and waiters then learn of releases by polling).
	Release(ctx context.Context, committed *Version, path string) error
	// Abandon stops the watchdog without deleting the lease in Redis: it
	// expires by its TTL.
	Abandon()
}

// validity returns how long a lease refreshed to ttl stays certainly valid:
// TTL minus a clock-drift allowance of 1% of the TTL plus 2 ms.
func validity(ttl time.Duration) time.Duration {
	return ttl - ttl/100 - 2*time.Millisecond
}

// floorOf is the highest token in the record held by a lease other than id.
func floorOf(rec Record, id string) uint64 {
	var n uint64
	if rec.Floor.LeaseID != id {
		n = rec.Floor.Token
	}
	for _, v := range []Version{rec.Pending, rec.Committed} {
		if v.LeaseID != id && v.Token > n {
			n = v.Token
		}
	}
	return n
}

func checkCommit(key, id string, token uint64, rec Record) error {
	if rec.Floor.Bars(token, id) {
		return &Error{Op: "check fence", Key: key, Err: &fenceError{rec.Floor, token}}
	}
	return nil
}

type fenceError struct {
	floor Floor
	ours  uint64
}

func (e *fenceError) Error() string {
	return ErrFenced.Error() + ": record floor " + utoa(e.floor.Token) + " (lease " + quoteName(e.floor.LeaseID) + "), ours " + utoa(e.ours)
}

func (e *fenceError) Unwrap() error { return ErrFenced }
