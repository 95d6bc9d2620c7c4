package coordinator

import (
	"context"
	"errors"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/quote"
	"github.com/sharedwrite/sharedwrite/locking"
	"github.com/sharedwrite/sharedwrite/writer"
)

// aheadOfRedis returns the volume's committed version when a holder that
// commits nothing finds it ahead of the copy Redis returned on acquire (Redis
// restarted without persistence, failed over, or a writer crashed between its
// commit and its release): releasing the lease with it stores it in Redis again
// and republishes its change event, so watchers and InitOnce readers that go
// by Redis catch up. nil in local mode, or when Redis is not behind.
func (c *Coordinator) aheadOfRedis(ctx context.Context, h *held) *locking.Version {
	if c.vol.mode != ModeRedis || h.lease == nil || h.rec.Committed.Token == 0 {
		return nil
	}
	v := h.rec.Committed
	if rv, ok := h.lease.Committed(); ok && rv.Token >= v.Token {
		return nil
	}
	c.log.InfoContext(ctx, "the volume's committed version is ahead of Redis's; republishing it",
		"key", quote.Value(h.key), "token", v.Token)
	return &v
}

// publishCompleted does for the keys of intent in other than key (the
// completer's own) what the transaction's release would have done in Redis
// once completeIntentFor has renamed every file: it stores each key's version
// in Redis and publishes its change event, so that watchers learn of it at
// once instead of at their next poll. Each key is taken for a moment (its
// lease, then its file lock without waiting) and released with its version
// as committed when its record holds that version pending and its file shows
// it; Redis stores it, and publishes its event, only when it is newer than
// Redis's copy. The key's committed record is left as it is: its next holder
// promotes the version (promoteRenamed), as after a holder that died
// between its rename and its record update. Nothing in local mode, which has
// no change events.
//
// A key held by another holder is left to it: a holder that takes a key of a
// completed transaction promotes its version, and its release stores and
// publishes it (aheadOfRedis), or a newer one. Failures are logged, never
// returned: the transaction is complete either way, and watchers find the
// version by polling.
func (c *Coordinator) publishCompleted(ctx context.Context, in txIntent, key string) {
	if c.vol.mode != ModeRedis {
		return
	}
	for _, e := range in.Entries {
		if e.Target != key {
			c.publishCompletedKey(ctx, e)
		}
	}
}

// publishCompletedKey does publishCompleted's work for the key of intent
// entry e.
func (c *Coordinator) publishCompletedKey(ctx context.Context, e txEntry) {
	key := e.Target
	if ctx.Value(heldKey{c, key}) != nil || ctx.Value(ownKey{c, key}) != nil {
		return // held by the operation this one runs in, which releases it
	}
	lease, err := c.acquireCompleted(ctx, e)
	if errors.Is(err, locking.ErrNotObtained) || err != nil && ctx.Err() != nil {
		// Held by another holder, or the operation ended meanwhile: the
		// key's next holder publishes the version.
		c.log.InfoContext(ctx, "transaction completed; its change event is left to the key's next holder",
			"key", quote.Value(key), "token", e.Token, "err", err)
		return
	}
	if err != nil {
		c.log.WarnContext(ctx, "transaction completed; its change event not published (watchers find it by polling)",
			"key", quote.Value(key), "token", e.Token, "err", err)
		return
	}
	h := &held{key: key, lease: lease}
	var v *locking.Version
	fl, err := c.locks.Open(key)
	if err == nil {
		var locked bool
		if locked, err = fl.TryLock(); err == nil && locked {
			h.fl = fl
			v, err = c.completedVersion(h, e)
		} else {
			// Another holder's file lock: as above, left to it.
			fl.Close() //nolint:errcheck // not locked
		}
	}
	if rerr := c.release(ctx, h, v); err == nil {
		err = rerr
	}
	if err != nil {
		c.log.WarnContext(ctx, "transaction completed; its change event may not be published (watchers find it by polling)",
			"key", quote.Value(key), "token", e.Token, "err", err)
	}
}

// completedVersion returns the version intent entry e made visible when the
// record of h's key (whose file lock h holds) has it pending and the file
// shows it; nil when a newer version is pending, or the file does not show it
// (changed since, or too large to be hashed: baseline).
func (c *Coordinator) completedVersion(h *held, e txEntry) (*locking.Version, error) {
	rec, err := h.fl.ReadRecord()
	if err != nil {
		return nil, wrap("read record", h.key, err)
	}
	p := rec.Pending
	if p.Token != e.Token || p.LeaseID != e.LeaseID || isLogVersion(p) {
		return nil, nil
	}
	cur, ok := c.baseline(h.key)
	if !ok || !matches(p, writer.Content{Exists: !cur.Deleted, Size: cur.Size, SHA256: cur.SHA256}) {
		return nil, nil
	}
	return &p, nil
}

// acquireCompleted takes e.Target's lease for publishCompleted. It waits for
// a holder no longer than releaseGrace: the completer holds a key of its own,
// which a live holder of this one may be waiting for (a transaction takes its
// keys in sorted order). Only the dead transaction's own lease on the key,
// which expires by its TTL (its leases were refreshed apart, so it may
// outlive the one the completer waited for) and waits for nothing, is waited
// out: for a lease TTL at most, and no longer than half of what is left
// before ctx's deadline, which the completer's operation still needs. The
// wait is made in turns of releaseGrace, each one only while that lease
// still holds the key: a live holder that takes the key when it expires
// (one that was in line first) is not waited for either.
func (c *Coordinator) acquireCompleted(ctx context.Context, e txEntry) (locking.Lease, error) {
	wait := c.cfg.leaseTTL
	if dl, ok := ctx.Deadline(); ok {
		wait = min(wait, time.Until(dl)/2)
	}
	until := time.Now().Add(wait)
	for turn := releaseGrace; ; turn = min(releaseGrace, time.Until(until)) {
		actx, cancel := context.WithTimeout(ctx, turn)
		lease, err := c.locker.Acquire(actx, e.Target, c.cfg.leaseTTL)
		cancel()
		var he *locking.HolderError
		if err == nil || !errors.Is(err, locking.ErrNotObtained) || !errors.As(err, &he) || he.Lease != e.LeaseID ||
			ctx.Err() != nil || time.Until(until) <= 0 {
			return lease, err
		}
	}
}
