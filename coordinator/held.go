package coordinator

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/quote"
	"github.com/sharedwrite/sharedwrite/locking"
	"github.com/sharedwrite/sharedwrite/writer"
)

// held is one key taken for an operation: its lease, its file lock and the lock
// record read right after the file lock.
type held struct {
	key    string
	lease  locking.Lease
	fl     *locking.FileLock
	rec    locking.Record
	waited time.Duration
	// borrowed: the lease and lock belong to an enclosing Lock call or a parent
	// process; they are neither unlocked nor released here.
	borrowed bool
	// adopted: borrowed from a parent process; the lease is abandoned (its
	// watchdog stopped, the lease kept) when the operation ends.
	adopted bool
	// unborrow ends this operation's turn on a borrowed key (see borrowTurn).
	unborrow func()
	// turn is the scope in which a borrowed holder takes the lease's turn
	// among the processes sharing it (see borrowTurn); childTurn, set by
	// Lock, the scope it hands to its function and to the processes that
	// adopt the lease from it.
	turn, childTurn string
	// turnLock is the turn file this process holds in h.turn (borrowed).
	turnLock *locking.TurnLock
	// onCommitted, set by an operation's function, runs once finish has
	// written the committed record of that operation's version.
	onCommitted func(ctx context.Context)
}

// heldKey is the context key under which Lock passes its held key to nested
// operations of the same Coordinator on the same key (another Coordinator,
// on another root or volume, takes its own).
type heldKey struct {
	c   *Coordinator
	key string
}

// inLock marks the context of a Lock function of coordinator c, and of an
// UpdateContext function or an InitOnce generator: operations nested in it
// run in its operation's place in the gate (taking another could wait for
// that operation itself when the limits are reached).
type inLock struct{ c *Coordinator }

// ownKey marks the context of an UpdateContext function or an InitOnce
// generator whose operation took key itself (not nested in a Lock): an
// operation on key made with it would wait for that operation forever.
type ownKey struct {
	c   *Coordinator
	key string
}

// fnContext is the context given to the function of an operation holding h
// (UpdateContext's fn, InitOnce's gen): see inLock and ownKey.
func (c *Coordinator) fnContext(ctx context.Context, h *held) context.Context {
	ctx = c.gate.withPlace(context.WithValue(ctx, inLock{c}, true))
	if !h.borrowed {
		ctx = context.WithValue(ctx, ownKey{c, h.key}, true)
	}
	return ctx
}

// enterGate is gate.enter for an operation on key ("": on keys not known
// yet, or several). One nested in a Lock function of this coordinator (or an
// UpdateContext or InitOnce function) runs in that function's place
// (gate.enterNested), and one on the key that function's Lock holds, which
// borrows its lease and takes turns with the others on it, takes nothing.
func (c *Coordinator) enterGate(ctx context.Context, key string) (leave func(), err error) {
	if ctx.Value(inLock{c}) == nil {
		return c.gate.enter(ctx)
	}
	if _, ok := ctx.Value(heldKey{c, key}).(*held); ok && key != "" {
		return func() {}, nil
	}
	return c.gate.enterNested(ctx)
}

// take acquires key: lease, then file lock, then the floor check, then the
// completion of a transaction a dead holder left pending. Nothing is read from
// the data file and no user code runs before the floor check.
func (c *Coordinator) take(ctx context.Context, key string) (*held, error) {
	h, err := c.lockKey(ctx, key)
	if err != nil {
		return nil, err
	}
	if err := c.floor(ctx, h); err != nil {
		c.release(ctx, h, nil)
		return nil, err
	}
	return h, nil
}

// lockKey is take without the floor check: the lease (or the one an
// enclosing Lock or a parent process holds) and the file lock. Its record is
// not read yet.
func (c *Coordinator) lockKey(ctx context.Context, key string) (*held, error) {
	if h, ok := ctx.Value(heldKey{c, key}).(*held); ok {
		return c.borrowTurn(ctx, &held{key: key, lease: h.lease, fl: h.fl, borrowed: true, turn: h.childTurn})
	}
	if ctx.Value(ownKey{c, key}) != nil {
		return nil, wrap("lease", key, fmt.Errorf("made with the context of the function of an operation that holds the key (UpdateContext, InitOnce), it would wait for that operation to end (take the key with Lock to nest operations): %w", syscall.EDEADLK))
	}
	if a := c.cfg.adopted; a != nil && a.key == key {
		h, err := c.adopt(ctx, a)
		if err != nil {
			return nil, err
		}
		if h, err = c.borrowTurn(ctx, h); err != nil {
			return nil, err
		}
		if err := c.checkHandedDown(h, a); err != nil {
			c.release(ctx, h, nil)
			return nil, err
		}
		return h, nil
	}

	start := time.Now()
	lctx, span := c.tel.step(ctx, "lease", AttrKey.String(key))
	lease, err := c.locker.Acquire(lctx, key, c.cfg.leaseTTL)
	endStep(span, err)
	if err != nil {
		return nil, wrap("lease", key, err)
	}
	h := &held{key: key, lease: lease}

	fctx, span := c.tel.step(ctx, "flock", AttrKey.String(key))
	fl, err := c.locks.Open(key)
	if err == nil {
		err = fl.Lock(fctx)
		if err != nil {
			fl.Close() //nolint:errcheck // not locked
		}
	}
	endStep(span, err)
	if err != nil {
		c.releaseLease(ctx, h, nil)
		return nil, wrap("flock", key, err)
	}
	h.fl = fl
	h.waited = time.Since(start)
	c.tel.leaseWait.Record(ctx, h.waited.Seconds())
	return h, nil
}

// checkHandedDown verifies, in the adopted lease's turn, that the volume's
// floor still shows that lease: the Lock that handed it down raised the floor
// to its token before running its function, and one past it when the
// function returned (closeHandedLease). A floor one past it means the lease
// has ended (ErrLeaseLost: a process that outlived the Lock that started it);
// any other floor, that this lease was never handed down on this volume (a
// stale or forged SHAREDWRITE_LEASE: ErrAdoptedLock), whose token must not
// be used.
func (c *Coordinator) checkHandedDown(h *held, a *adoptedLease) error {
	rec, err := h.fl.ReadRecord()
	switch {
	case err != nil:
		return wrap("adopt lease", a.key, err)
	case rec.Floor.LeaseID == a.leaseID && rec.Floor.Token == h.lease.Token():
		return nil
	case rec.Floor.LeaseID == a.leaseID && rec.Floor.Token > h.lease.Token():
		return wrap("adopt lease", a.key, fmt.Errorf("%w: the lock that handed it down has ended", locking.ErrLeaseLost))
	}
	return wrap("adopt lease", a.key, fmt.Errorf("%w: the volume's floor (token %d, lease %s) does not show the lease %s with token %d: it was not handed down here",
		ErrAdoptedLock, rec.Floor.Token, quote.Value(rec.Floor.LeaseID), quote.Value(a.leaseID), h.lease.Token()))
}

// adopt takes over the lease and lock a parent process holds (WithAdoptedLease).
func (c *Coordinator) adopt(ctx context.Context, a *adoptedLease) (*held, error) {
	lease, err := c.locker.Adopt(ctx, a.key, a.leaseID, a.token, c.cfg.leaseTTL)
	if err != nil {
		return nil, wrap("adopt lease", a.key, err)
	}
	c.adoptMu.Lock()
	if c.adoptedFL == nil {
		// One FileLock for the inherited descriptor: it closes the descriptor
		// when it goes, so it lives as long as the coordinator.
		if err = c.checkAdopted(a); err == nil {
			c.adoptedFL, err = locking.AdoptFileLock(a.fd, a.key)
		}
	}
	fl := c.adoptedFL
	c.adoptMu.Unlock()
	if err != nil {
		lease.Abandon()
		return nil, wrap("adopt lock", a.key, err)
	}
	return &held{key: a.key, lease: lease, fl: fl, borrowed: true, adopted: true, turn: cmp.Or(a.turn, a.leaseID)}, nil
}

// floor reads the lock record and checks our token against its floor: a token
// Redis handed out again (failover, restart) is raised past it.
func (c *Coordinator) floor(ctx context.Context, h *held) error {
	fctx, span := c.tel.step(ctx, "floor", AttrKey.String(h.key))
	rec, err := h.fl.ReadRecord()
	var raised bool
	if err == nil {
		raised, err = h.lease.CheckFloor(fctx, rec)
	}
	span.SetAttributes(AttrRaised.Bool(raised), AttrToken.Int64(int64(h.lease.Token())))
	endStep(span, err)
	if err != nil {
		return wrap("floor", h.key, err)
	}
	// In local mode every holder takes floor+1: only a Redis counter behind
	// the volume is a raise worth counting.
	if raised && c.vol.mode == ModeRedis {
		c.tel.add(ctx, c.tel.floorRaised)
		c.log.InfoContext(ctx, "fencing token raised past the volume's floor",
			"key", quote.Value(h.key), "floor", rec.Floor.Token, "token", h.lease.Token())
	}
	h.rec = rec
	if err := c.completePending(ctx, h); err != nil {
		return err
	}
	c.promoteRenamed(ctx, h)
	return nil
}

// promoteRenamed promotes a dead holder's pending whole-file version when the
// file already holds it: its holder died between its rename and its record
// update, or a transaction was completed by the holder of another of its keys
// (which renames this key's file but cannot update this key's record). An
// operation that does not read the file first (WriteFile, Remove, a
// transaction) would otherwise write its own pending over that one, and if it
// then died before its rename, no record would name what the file holds: the
// next reader would wait out the stale-view window and take the file for one
// edited outside sharedwrite (refuse it, in strict mode). The check reads the
// file only when such a pending version is there; a file over the baseline's
// size limit, or a view that still shows the old file, is left to the fresh
// read as before.
func (c *Coordinator) promoteRenamed(ctx context.Context, h *held) {
	p, cm := h.rec.Pending, h.rec.Committed
	if p.Token == 0 || p.Token <= cm.Token || sameVersion(p, cm) || isLogVersion(p) || p.LeaseID == h.lease.ID() ||
		cm.Token != 0 && isLogVersion(cm) { // a log's: logState's to settle
		return
	}
	// The size first: a pending version left by a commit that failed stays
	// until the next one, and the operations meanwhile must not each read
	// the whole file to learn that it was not renamed.
	fi, err := c.root.OS().Lstat(h.key)
	if p.Deleted && !errors.Is(err, fs.ErrNotExist) || !p.Deleted && (err != nil || !fi.Mode().IsRegular() || fi.Size() != p.Size) {
		return
	}
	cur, ok := c.baseline(h.key)
	ct := writer.Content{Exists: !cur.Deleted, Size: cur.Size, SHA256: cur.SHA256}
	// A file that holds the committed version too (the pending one rewrote
	// the same content and failed) tells nothing: pending may never have
	// been renamed, and a version whose commit failed is never promoted.
	if !ok || !matches(p, ct) || matches(cm, ct) {
		return
	}
	c.log.InfoContext(ctx, "promoting a dead holder's pending version to committed", "key", quote.Value(h.key), "token", p.Token)
	c.finish(ctx, h, p)
}

// release unlocks the file lock, then releases the lease, storing committed in
// Redis and publishing the change event (committed nil: nothing committed).
// Borrowed keys are left to their owner.
func (c *Coordinator) release(ctx context.Context, h *held, committed *locking.Version) error {
	if h.adopted {
		h.lease.Abandon()
	}
	if h.borrowed {
		if h.unborrow != nil {
			h.unborrow()
			h.unborrow = nil
		}
		return nil
	}
	var errs []error
	if h.fl != nil {
		if err := h.fl.Unlock(); err != nil {
			errs = append(errs, wrap("unlock", h.key, err))
		}
		if err := h.fl.Close(); err != nil {
			errs = append(errs, wrap("close lock", h.key, err))
		}
	}
	if err := c.releaseLease(ctx, h, committed); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (c *Coordinator) releaseLease(ctx context.Context, h *held, committed *locking.Version) error {
	if committed == nil {
		committed = c.aheadOfRedis(ctx, h) // republish a version Redis lost (watch_republish.go)
	}
	rctx := context.WithoutCancel(ctx)
	if c.vol.mode == ModeRedis {
		// A local lease's release waits for nothing: no timer for it.
		var cancel context.CancelFunc
		rctx, cancel = context.WithTimeout(rctx, c.releaseBound(ctx))
		defer cancel()
	}
	rctx, span := c.tel.step(rctx, "release", AttrKey.String(h.key))
	err := h.lease.Release(rctx, committed, h.key)
	endStep(span, err)
	return wrap("release", h.key, err)
}

// releaseBound is how long a release may wait for Redis: the lease's TTL (past
// it the key expires by itself), but no longer than what is left of ctx's
// deadline, with releaseGrace at least. A release runs also when ctx has
// ended (the key must not stay held), yet an operation whose Redis stalls
// after the commit still returns within its deadline plus that grace.
func (c *Coordinator) releaseBound(ctx context.Context) time.Duration {
	d := c.cfg.leaseTTL
	if dl, ok := ctx.Deadline(); ok {
		d = min(d, max(time.Until(dl), releaseGrace))
	}
	return d
}

// releaseGrace is the least time a release is given after its operation's
// deadline has passed: a round trip on any network a lease is used on.
const releaseGrace = 250 * time.Millisecond

// withLeases derives the operation's context from the leases' contexts: the
// loss of any lease cancels it at once, with the loss as its cause.
func withLeases(ctx context.Context, hs ...*held) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	stops := make([]func() bool, 0, len(hs))
	for _, h := range hs {
		lctx := h.lease.Context()
		stops = append(stops, context.AfterFunc(lctx, func() { cancel(context.Cause(lctx)) }))
	}
	return ctx, func() {
		for _, s := range stops {
			s()
		}
		cancel(context.Canceled)
	}
}

// leaseErr returns err, joined with the lease loss when one of the leases was
// lost (so errors.Is(err, ErrLeaseLost) holds), counting the loss.
func (c *Coordinator) leaseErr(ctx context.Context, err error, hs ...*held) error {
	if err == nil {
		return nil
	}
	for _, h := range hs {
		if h.lease.Err() != nil {
			c.tel.add(ctx, c.tel.leaseLost, AttrKey.String(h.key))
			return leaseWrap(err, h)
		}
	}
	if errors.Is(err, locking.ErrLeaseLost) {
		c.tel.add(ctx, c.tel.leaseLost)
	}
	if errors.Is(err, locking.ErrFenced) {
		c.tel.add(ctx, c.tel.fenced)
	}
	return err
}

// leaseWrap is err joined with the loss of the first of hs's leases that is
// lost (when err does not say so already), without counting it.
func leaseWrap(err error, hs ...*held) error {
	for _, h := range hs {
		if lerr := h.lease.Err(); lerr != nil {
			if !errors.Is(err, locking.ErrLeaseLost) {
				return fmt.Errorf("%w (%w)", err, lerr)
			}
			return err
		}
	}
	return err
}

// selfPID is read once: a Go process keeps its pid, and getpid is a system
// call.
var selfPID = os.Getpid()

// newVersion is the version a commit by h makes visible. Its generation is
// one past the committed one: a rename or a removal puts a new file (or none)
// at the name, and an Appender holding the old file open compares the
// generation, not inodes, to learn that it must reopen. Appends keep the
// generation (appendHeld sets it).
func (c *Coordinator) newVersion(h *held, sha [32]byte, size int64) locking.Version {
	return locking.Version{
		Token:      h.lease.Token(),
		LeaseID:    h.lease.ID(),
		SHA256:     sha,
		Size:       size,
		Length:     size,
		Generation: h.rec.Committed.Generation + 1,
		Host:       truncate(c.host, 95),
		PID:        selfPID,
		Time:       time.Now().UTC(),
	}
}

// checkCommit is the lease-aware, fence-checked part of a commit: the lease
// must have at least the commit margin left, and the record's floor must not
// show a newer token. It re-reads the record and returns it.
func (c *Coordinator) checkCommit(ctx context.Context, h *held) (locking.Record, error) {
	if err := h.lease.Err(); err != nil {
		return locking.Record{}, err
	}
	if err := c.checkMargin(h); err != nil {
		return locking.Record{}, err
	}
	rec, err := h.fl.ReadRecord()
	if err != nil {
		return rec, err
	}
	if err := h.lease.CheckCommit(rec); err != nil {
		return rec, err
	}
	return rec, nil
}

// checkMargin refuses a commit when h's lease has less than the commit margin
// of validity left.
func (c *Coordinator) checkMargin(h *held) error {
	if rem := h.lease.Remaining(); rem < c.cfg.commitMargin {
		return fmt.Errorf("%w: %v of validity left, below the commit margin %v", locking.ErrLeaseLost, rem.Round(time.Millisecond), c.cfg.commitMargin)
	}
	return nil
}

// prepare runs the commit check for h and writes floor and pending (fsynced),
// after the baseline when the key has no committed version yet (baseline.go):
// after it returns nil the rename may happen. It may raise v's generation to
// the volume's, so v is what the caller later records as committed.
func (c *Coordinator) prepare(ctx context.Context, h *held, v *locking.Version) error {
	return c.writePending(ctx, h, v, true)
}

// prepareBatch is prepare for an append batch, whose data is written and
// fsynced before: the pending record's fsync is the batch's commit point
// (the key's next holder promotes its length whatever it finds, logState),
// so the check is not made again after that fsync. A check failed there
// would report a committed batch as not committed, and its caller would
// append the records again.
func (c *Coordinator) prepareBatch(ctx context.Context, h *held, v *locking.Version) error {
	return c.writePending(ctx, h, v, false)
}

// writePending is prepare; recheck: the commit check is made again once
// the record is fsynced.
func (c *Coordinator) writePending(ctx context.Context, h *held, v *locking.Version, recheck bool) error {
	cctx, span := c.tel.step(ctx, "commit", AttrKey.String(h.key), AttrToken.Int64(int64(v.Token)))
	_ = cctx
	rec, err := c.checkCommit(ctx, h)
	if err == nil {
		if v.Generation < rec.Committed.Generation {
			v.Generation = rec.Committed.Generation
		}
		start := time.Now()
		if rec.Committed.Token == 0 && !isLogVersion(*v) {
			err = c.writeBaseline(h, rec.Committed)
		}
		if err == nil {
			err = h.fl.WriteFloorPending(locking.Floor{Token: v.Token, LeaseID: v.LeaseID}, *v)
		}
		if err == nil {
			c.noteRecordSync(time.Since(start))
		}
		if err == nil && recheck {
			// The fsync can take long (a network filesystem, a stalled
			// server), and the process may be stopped in it: the lease may
			// have run out since the check above, and on a volume whose
			// file locks other hosts do not see, a newer holder may have
			// committed meanwhile. Checked again, right before the rename.
			_, err = c.checkCommit(ctx, h)
		}
	}
	endStep(span, err)
	return err
}

// preCommit returns the writer pre-commit hook for a single-key commit by h:
// it records in *out the version it lets become visible.
func (c *Coordinator) preCommit(h *held, out *locking.Version) writer.Option {
	return writer.PreCommit(func(ctx context.Context, ch writer.Change) error {
		v := c.newVersion(h, ch.SHA256, ch.Size)
		v.Deleted = ch.Op == "remove"
		if err := c.prepare(ctx, h, &v); err != nil {
			return err
		}
		*out = v
		return nil
	})
}

// earlyPrepare is a commit's floor and pending write (with its fsync) started
// as soon as the content is known, so that it runs while the writer fsyncs the
// temp: the two fsyncs overlap instead of following each other. The
// pre-commit hook waits for it and checks the lease and the floor again just
// before the rename, so floor and pending are still on disk, and the fence
// still checked, before the visible change. A pending version whose rename
// never happens (the write failed after it) is what a failed rename leaves
// too: fresh reads and watchers skip it while the file does not match it.
type earlyPrepare struct {
	v    locking.Version
	err  error
	done chan struct{}
}

// overlapMin is the floor and pending write's duration from which it is
// started early: on a volume whose fsync is nearly free (a tmpfs) handing the
// write to another goroutine costs more than the overlap saves.
const overlapMin = 50 * time.Microsecond

// overlapRecord says whether the next floor and pending write should start
// early: the volume's floor and pending writes take overlapMin or more (on
// average, see noteRecordSync).
func (c *Coordinator) overlapRecord() bool {
	return time.Duration(c.recordSync.Load()) >= overlapMin
}

// noteRecordSync folds the duration of a floor and pending write into
// recordSync: the first sets it, each later one moves it by an eighth of the
// difference. A single write slowed by a busy moment (or the first fsync of
// a cold file) then does not switch a tmpfs volume's next writes to the early
// start, which costs more than it saves there.
func (c *Coordinator) noteRecordSync(d time.Duration) {
	for {
		old := c.recordSync.Load()
		next := int64(d)
		if old != 0 {
			next = old + (int64(d)-old)/8
		}
		if c.recordSync.CompareAndSwap(old, next) {
			return
		}
	}
}

// startPrepare starts the floor and pending write for content (sha, size) by
// h, when the volume's floor and pending writes take overlapMin or more
// (overlapRecord); nil otherwise (the pre-commit hook then writes them).
func (c *Coordinator) startPrepare(ctx context.Context, h *held, sha [32]byte, size int64) *earlyPrepare {
	if !c.overlapRecord() {
		return nil
	}
	p := c.newPrepare(h, sha, size)
	go p.run(ctx, c, h)
	return p
}

// newPrepare returns the floor and pending write for content (sha, size) by
// h, not yet run.
func (c *Coordinator) newPrepare(h *held, sha [32]byte, size int64) *earlyPrepare {
	return &earlyPrepare{v: c.newVersion(h, sha, size), done: make(chan struct{})}
}

// run writes floor and pending and marks p done. The commit check is made
// before the write, not again after its fsync, as prepare does: the
// pre-commit hook (earlyHook) waits for p and makes it then, after the
// temp's fsync too, right before the rename. Made here as well, it would read
// the record twice with nothing in between that it guards.
func (p *earlyPrepare) run(ctx context.Context, c *Coordinator, h *held) {
	defer close(p.done)
	p.err = c.writePending(ctx, h, &p.v, false)
}

// wait waits for the write to end; nil p is a no-op.
func (p *earlyPrepare) wait() {
	if p != nil {
		<-p.done
	}
}

// preCommitEarly is preCommit for a write whose floor and pending may have
// been started early (*early, set before the writer's Commit): the hook uses
// that write when it is for the content being committed, and prepares as
// preCommit does otherwise (and on a second call, the in-place rewrite's).
func (c *Coordinator) preCommitEarly(h *held, out *locking.Version, early **earlyPrepare) writer.Option {
	return writer.PreCommit(func(ctx context.Context, ch writer.Change) error {
		return c.earlyHook(ctx, h, ch, out, early)
	})
}

// earlyHook is the pre-commit hook of preCommitEarly.
func (c *Coordinator) earlyHook(ctx context.Context, h *held, ch writer.Change, out *locking.Version, early **earlyPrepare) error {
	if p := *early; p != nil {
		*early = nil
		<-p.done
		if p.err != nil {
			return p.err
		}
		if ch.Op == "replace" && p.v.SHA256 == ch.SHA256 && p.v.Size == ch.Size {
			// The check right before the rename (run did not make it
			// after the record's fsync).
			if _, err := c.checkCommit(ctx, h); err != nil {
				return err
			}
			*out = p.v
			return nil
		}
	}
	v := c.newVersion(h, ch.SHA256, ch.Size)
	v.Deleted = ch.Op == "remove"
	if err := c.prepare(ctx, h, &v); err != nil {
		return err
	}
	*out = v
	return nil
}

// finish writes committed after a visible change (no fsync: a later holder
// whose fresh read matches pending promotes it). While h's lease has the
// commit margin left no other holder can have taken the key, and committed
// is written at once. Otherwise (the lease ran out or was lost, say in the
// fsync before, or between the rename and here) the record is read first:
// a holder that took the key since has found v pending, promoted it and may
// have committed newer versions, so the record is left to it (see
// overtakenSince).
func (c *Coordinator) finish(ctx context.Context, h *held, v locking.Version) {
	if c.checkMargin(h) != nil {
		if why := c.overtakenSince(h, v); why != "" {
			c.log.WarnContext(ctx, "committed record not written: "+why, "key", quote.Value(h.key), "token", v.Token)
			return
		}
	}
	if err := h.fl.WriteCommitted(v); err != nil {
		c.log.WarnContext(ctx, "committed record not written; the next holder promotes pending", "key", quote.Value(h.key), "err", err)
		return
	}
	h.rec.Committed = v
	if f := h.onCommitted; f != nil {
		h.onCommitted = nil
		f(ctx)
	}
}

// overtakenSince reads h's record and says why v must not be written over
// its committed version ("" when it may): the floor shows that another holder
// has taken the key since h (a higher token than h's, or h's token with
// another lease), or the committed version is newer than v. The record not
// read is a reason too: committed may be left unwritten (the next holder
// promotes pending), a newer holder's must not be overwritten.
func (c *Coordinator) overtakenSince(h *held, v locking.Version) string {
	rec, err := h.fl.ReadRecord()
	if err != nil {
		return fmt.Sprintf("the lease may have been lost, and the record was not read back: %v", err)
	}
	tok, id := h.lease.Token(), h.lease.ID()
	if f := rec.Floor; f.Bars(tok, id) {
		return fmt.Sprintf("another holder has taken the key since (floor token %d, lease %s; ours %d); the record is left to it", f.Token, quote.Value(f.LeaseID), tok)
	}
	if cm := rec.Committed; cm.Token > v.Token {
		return fmt.Sprintf("the record's committed version (token %d) is newer than this one; it is left as it is", cm.Token)
	}
	return ""
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
