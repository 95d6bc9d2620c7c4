package coordinator

import (
	"context"
	"errors"
	"fmt"
	"io/fs"

	"github.com/sharedwrite/sharedwrite/internal/quote"
	"github.com/sharedwrite/sharedwrite/locking"
	"github.com/sharedwrite/sharedwrite/writer"
)

// Repair is what RepairRecord found and did.
type Repair struct {
	// Repaired: the record was corrupt and has been rewritten. false: it was
	// sound, or there was none, and nothing changed.
	Repaired bool
	// NoRecord: name has no lock file, so no record (it was never written
	// through sharedwrite, or the name is mistyped); nothing changed.
	NoRecord bool
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
// record, completes a transaction a dead holder left pending on name (as
// taking the key does), takes a fencing token above every token found in the
// record and in Redis's copy of the committed version (raising the Redis
// counter past them when needed), and writes a whole new record: floor = that
// token, no pending, committed = the file as it is now (its sha256 and size;
// deleted when absent), with a generation past every one found. The release
// stores the new committed version in Redis and publishes it, so watchers
// reload. A sound record, or a name without a lock file (NoRecord), is left
// as it is (Repaired false). A record of another format version (ErrForeignRecord) is
// refused, not repaired: the build that wrote it can read it.
//
// The file is adopted as it is, as for a key with no record: the repair does
// not know which version the lost record described. It hashes the file
// through a 1 MiB buffer (writer.HashOnly), whatever its size. A fence from
// a token that only a lost section held is lost with it; the new floor is
// the repair's token.
func (c *Coordinator) RepairRecord(ctx context.Context, name string) (Repair, error) {
	ctx, o := c.tel.startOp(ctx, "repair-record", name)
	var rep Repair
	outcome := OutcomeNotCommitted
	var err error
	defer func() { o.end(ctx, outcome, err) }()
	ctx, done, err := c.begin(ctx)
	if err != nil {
		err = wrap("repair-record", name, err)
		return rep, err
	}
	defer done()

	key, err := c.resolve(name)
	if err != nil {
		return rep, err
	}
	o.span.SetAttributes(AttrKey.String(key))
	// A name never locked has no record to repair: no lock file is made.
	fl, err := c.locks.OpenExisting(key)
	if errors.Is(err, fs.ErrNotExist) {
		// A name PublishDir manages is the symlink's own key, not the
		// version directory's it resolves to.
		lk, lerr := c.linkKey(name)
		if lerr != nil || lk == key {
			rep.NoRecord = true
			return rep, nil
		}
		if fl, err = c.locks.OpenExisting(lk); errors.Is(err, fs.ErrNotExist) {
			rep.NoRecord = true
			return rep, nil
		}
		key = lk
		o.span.SetAttributes(AttrKey.String(key))
	}
	if err != nil {
		err = wrap("open lock", key, err)
		return rep, err
	}
	fl.Close() //nolint:errcheck // opened to look only
	leave, gerr := c.enterGate(ctx, key)
	if gerr != nil {
		err = wrap("queue", key, gerr)
		return rep, err
	}
	defer leave()
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
// wrote (nil: nothing written). h.rec stays empty until the new record is
// written, so that a failed repair republishes nothing.
func (c *Coordinator) repairHeld(ctx context.Context, h *held) (Repair, *locking.Version, error) {
	var rep Repair
	_, err := h.fl.ReadRecord()
	switch {
	case err == nil:
		return rep, nil, nil
	case errors.Is(err, locking.ErrForeignRecord):
		return rep, nil, wrap("repair record", h.key, fmt.Errorf("%w; not repaired: use the build that wrote it", err))
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
	salvaged := rep.Salvaged.Record

	// What the record and Redis still know: the floor and the generation
	// continue from the highest of them.
	basis := salvaged
	if rv, ok := h.lease.Committed(); ok && rv.Token > basis.Committed.Token {
		basis.Committed = rv
	}
	basis.Committed.Generation = max(basis.Committed.Generation, salvaged.Committed.Generation, salvaged.Pending.Generation)
	if _, err := h.lease.CheckFloor(ctx, basis); err != nil {
		return rep, nil, wrap("floor", h.key, err)
	}

	// A transaction a dead holder left pending on the key is completed first,
	// as taking the key does: from the salvaged pending, or, when that
	// section is lost, from the intents that list the key.
	h.rec = salvaged
	err = c.completePending(ctx, h)
	h.rec = locking.Record{}
	if err == nil && !rep.Salvaged.FloorPending {
		err = c.completeIntentsOf(ctx, h.key)
	}
	if err != nil {
		return rep, nil, c.leaseErr(ctx, err, h)
	}

	// The read stops at the lease's loss or the caller's cancellation between
	// its retries; the check below refuses a rewrite after either. It
	// settles a leftover in-place rewrite first, as every read does, and
	// refuses what is not a regular file.
	octx, stop := withLeases(ctx, h)
	defer stop()
	var ct writer.Content
	if fi, lerr := c.root.OS().Lstat(h.key); lerr == nil && fi.Mode()&fs.ModeSymlink != 0 {
		// The key of a name PublishDir manages is the symlink itself (a key
		// found by resolving has none at its end): recorded as PublishDir
		// records a publish, without content.
		ct.Exists = true
	} else if ct, err = c.root.ReadVersion(octx, h.key, writer.HashOnly()); err != nil {
		return rep, nil, c.leaseErr(ctx, wrap("read", h.key, err), h)
	}
	// The commit check of a record that cannot be read: the lease must still
	// be held with the commit margin left.
	if err := octx.Err(); err != nil {
		return rep, nil, c.leaseErr(ctx, context.Cause(octx), h)
	}
	if err := c.checkMargin(h); err != nil {
		return rep, nil, wrap("lease", h.key, err)
	}
	v := c.newVersion(&held{lease: h.lease, rec: basis}, ct.SHA256, ct.Size) // generation past basis's
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
