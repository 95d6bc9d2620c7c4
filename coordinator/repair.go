package coordinator

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/quote"
	"github.com/sharedwrite/sharedwrite/locking"
)

// Repair is what RepairRecord found and did.
type Repair struct {
	// Repaired: the record was corrupt and has been rewritten. false: it was
	// sound and nothing changed.
	Repaired bool
	// Problem is why the record was refused (empty when it was sound).
	Problem string
	// Salvaged says which sections of the corrupt record were still sound
	// (their tokens count towards the new floor).
	Salvaged locking.Salvage
	// Committed is the version the rewritten record holds: the file as it is
	// now (Deleted when it does not exist), under the repair's token.
	Committed locking.Version
}

// RepairRecord rewrites name's lock record when it is corrupt (a torn or
// garbage record that every operation on name refuses with ErrCorruptRecord).
// Under name's lease and file lock it reads what is still sound of the
// record, takes a fencing token above every token found there (raising the
// Redis counter past them when needed), and writes a whole new record: floor =
// that token, no pending, committed = the file as it is now (its sha256 and
// size; deleted when absent). The release stores the new committed version in
// Redis and publishes it, so watchers reload. A sound record is left as it is
// (Repaired false).
//
// The file is adopted as it is, as for a key with no record: the repair does
// not know which version the lost record described. It reads the whole file
// into memory to hash it. A fence from a token the
// corrupt record held and no section kept is lost; the new floor is the
// repair's token.
func (c *Coordinator) RepairRecord(ctx context.Context, name string) (Repair, error) {
	ctx, o := c.tel.startOp(ctx, "repair-record", name)
	var rep Repair
	outcome := OutcomeNotCommitted
	var err error
	defer func() { o.end(ctx, outcome, err) }()

	key, err := c.resolve(name)
	if err != nil {
		return rep, err
	}
	o.span.SetAttributes(AttrKey.String(key))
	if _, borrowed := ctx.Value(heldKey{c, key}).(*held); !borrowed {
		leave, gerr := c.gate.enter(ctx)
		if gerr != nil {
			err = wrap("queue", key, gerr)
			return rep, err
		}
		defer leave()
	}
	h, err := c.lockKey(ctx, key)
	if err != nil {
		return rep, err
	}
	o.held(h)
	var v *locking.Version
	rep, v, err = c.repairHeld(ctx, h)
	if v != nil {
		outcome = OutcomeCommitted
	}
	if rerr := c.release(ctx, h, v); rerr != nil {
		if err == nil && v == nil {
			err = rerr
		} else {
			c.log.WarnContext(ctx, "release after a record repair", "key", quote.Value(key), "err", rerr)
		}
	}
	return rep, err
}

// repairHeld is RepairRecord's work under h; v is the committed version it
// wrote (nil: nothing written).
func (c *Coordinator) repairHeld(ctx context.Context, h *held) (Repair, *locking.Version, error) {
	var rep Repair
	_, err := h.fl.ReadRecord()
	switch {
	case err == nil:
		return rep, nil, nil
	case !errors.Is(err, locking.ErrCorruptRecord):
		return rep, nil, wrap("read record", h.key, err)
	}
	rep.Problem = err.Error()
	if le := (*locking.Error)(nil); errors.As(err, &le) {
		rep.Problem = le.Err.Error() // the path is the caller's to name
	}
	if rep.Salvaged, err = h.fl.SalvageRecord(); err != nil {
		return rep, nil, wrap("salvage record", h.key, err)
	}
	// A token above every one the sound sections hold: the Redis counter is
	// raised past them (or, in local mode, the token is their highest + 1).
	if _, err := h.lease.CheckFloor(ctx, rep.Salvaged.Record); err != nil {
		return rep, nil, wrap("floor", h.key, err)
	}
	// Reading a large file takes time: the lease's loss or the caller's
	// cancellation stops it. The read settles a leftover in-place rewrite
	// first, as every read does, and refuses what is not a regular file.
	octx, stop := withLeases(ctx, h)
	defer stop()
	ct, err := c.root.ReadVersion(octx, h.key)
	if err != nil {
		return rep, nil, wrap("read", h.key, err)
	}
	// The commit check of a record that cannot be read: the lease must still
	// be held with the commit margin left.
	if err := octx.Err(); err != nil {
		return rep, nil, c.leaseErr(ctx, context.Cause(octx), h)
	}
	if rem := h.lease.Remaining(); rem < c.cfg.commitMargin {
		return rep, nil, wrap("lease", h.key, fmt.Errorf("%w: %v of validity left, below the commit margin %v", locking.ErrLeaseLost, rem.Round(time.Millisecond), c.cfg.commitMargin))
	}
	h.rec = rep.Salvaged.Record // the generation continues from committed's
	v := c.newVersion(h, ct.SHA256, ct.Size)
	v.Deleted = !ct.Exists
	rec := locking.Record{Floor: locking.Floor{Token: v.Token, LeaseID: v.LeaseID}, Committed: v}
	if err := h.fl.RewriteRecord(rec); err != nil {
		return rep, nil, wrap("rewrite record", h.key, err)
	}
	h.rec = rec
	rep.Repaired, rep.Committed = true, v
	c.log.WarnContext(ctx, "corrupt lock record rewritten; the file is adopted as it is",
		"key", quote.Value(h.key), "problem", rep.Problem, "token", v.Token,
		"salvaged_floor_pending", rep.Salvaged.FloorPending, "salvaged_committed", rep.Salvaged.Committed)
	return rep, &v, nil
}
