package locking

import (
	"context"
	"fmt"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/bootclock"
)

// Adopt returns a lease for a lease id this process did not acquire: a
// command run by `lock -- CMD` adopts its parent's lease instead of
// deadlocking on it. It verifies (with the refresh script, which also extends
// it) that the key holds leaseID; ErrNotHeld otherwise. The token is the one
// Redis stores for the lease when newer than token. The adopted lease runs its
// own watchdog; it is released by its owner: Release on it only publishes the
// committed version (when given) and stops the watchdog, leaving the parent's
// lease in place.
func (l *RedisLocker) Adopt(ctx context.Context, key, leaseID string, token uint64, ttl time.Duration) (Lease, error) {
	keys := l.Keys(key)
	a := newLeaseArgs(keys, leaseID, ttl)
	start := bootclock.Now()
	v, err := runScript(ctx, l.client, refreshScript, 2, a.lock, a.token, a.id, a.ttl)
	if err != nil {
		return nil, &Error{Op: "adopt", Key: key, Err: redisErr(err)}
	}
	r, err := parseReply(v)
	if err != nil {
		return nil, &Error{Op: "adopt", Key: key, Err: err}
	}
	if !r.ok {
		return nil, &Error{Op: "adopt", Key: key, Err: fmt.Errorf("%w: key holds %s, not %s", ErrNotHeld, holderName(r.a), quoteName(leaseID))}
	}
	if t, err := parseToken(r.a); err == nil && t > token {
		token = t
	}
	return newRedisLease(l, ctx, key, keys, a, token, ttl, start, true), nil
}
