package coordinator

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/quote"
	"github.com/sharedwrite/sharedwrite/locking"
	"github.com/sharedwrite/sharedwrite/writer"
)

// newFilePerm is the mode of a file Update or InitOnce creates (minus the umask).
const newFilePerm = 0o644

// Update reads name (fresh, verified against the committed record), calls fn
// with its content (exists false: no such file), and commits what fn returns —
// all under the key's lease and lock, so concurrent Updates never lose one
// another's changes. fn runs after the floor check and may be called at most
// once; when it fails nothing is committed and the error is a
// *CommandFailedError wrapping fn's. A file larger than the read limit
// (WithMaxReadSize) is refused with an error wrapping ErrTooLarge before fn
// is called, and so is new content from fn larger than it: nothing is
// committed. opts are writer options.
func (c *Coordinator) Update(ctx context.Context, name string, fn func(old []byte, exists bool) ([]byte, error), opts ...writer.Option) error {
	if fn == nil {
		return wrap("update", name, errNilFunc)
	}
	return c.UpdateContext(ctx, name, func(_ context.Context, old []byte, exists bool) ([]byte, error) {
		return fn(old, exists)
	}, opts...)
}

// UpdateContext is Update with fn given the operation's context, which is
// cancelled, with cause ErrLeaseLost, the moment the lease is lost: a long
// computation (a user's command) can stop at once instead of running on
// without the lease. An operation on name made with fn's context is refused
// with syscall.EDEADLK: it would wait for this one (nest operations in Lock).
func (c *Coordinator) UpdateContext(ctx context.Context, name string, fn func(ctx context.Context, old []byte, exists bool) ([]byte, error), opts ...writer.Option) error {
	if fn == nil {
		return wrap("update", name, errNilFunc)
	}
	return c.run(ctx, "update", name, func(ctx context.Context, h *held, o *op) (*locking.Version, error) {
		ct, err := c.verify(ctx, h, c.cfg.maxReadSize)
		if err != nil {
			return nil, err
		}
		data, err := fn(c.fnContext(ctx, h), ct.Data, ct.Exists)
		if err != nil {
			if cause := context.Cause(ctx); cause != nil {
				// Stopped by the lease's loss (or the caller): that is the
				// outcome to report, not the command's failure.
				return nil, wrap("update", h.key, fmt.Errorf("%w (%v)", cause, err))
			}
			return nil, commandFailed(h.key, err)
		}
		if err := context.Cause(ctx); err != nil {
			return nil, wrap("update", h.key, err)
		}
		if err := c.overLimit(data); err != nil {
			return nil, wrap("update", h.key, err)
		}
		var v locking.Version
		err = c.root.WriteFile(ctx, h.key, data, newFilePerm, c.wopts(ctx, o, h, &v, opts)...)
		return committed(&v, wrapW("write", h.key, err))
	})
}

// overLimit refuses new content larger than the read limit
// (WithMaxReadSize): committed, it would make every later Update, ReadFile
// and Watch of the file fail.
func (c *Coordinator) overLimit(data []byte) error {
	if limit := c.cfg.maxReadSize; limit > 0 && int64(len(data)) > limit {
		return fmt.Errorf("%w: the new content is %d bytes, more than the read limit of %d bytes; nothing committed: %w", writer.ErrTooLarge, len(data), limit, syscall.EFBIG)
	}
	return nil
}

func commandFailed(key string, err error) error {
	var cf *CommandFailedError
	if errors.As(err, &cf) {
		return err
	}
	return &CommandFailedError{Path: key, Err: err}
}

// InitOnce returns name's content, creating it with gen's output when it does
// not exist yet: across all replicas gen runs once. When the volume's
// committed record says the file exists it is read (fresh) and returned
// without a lease. Otherwise, under the lease and lock, it re-checks, runs gen
// and commits create-only (link(2) or RENAME_NOREPLACE), so a stale "does not
// exist" never lets a second generator replace the first: EEXIST means the
// race was lost and the winner's content is returned. gen's failure is a
// *CommandFailedError and nothing is created. Existing content larger than
// the read limit (WithMaxReadSize) is refused with an error wrapping
// ErrTooLarge. An operation on name made with gen's context is refused with
// syscall.EDEADLK, as in UpdateContext's fn.
func (c *Coordinator) InitOnce(ctx context.Context, name string, gen func(ctx context.Context) ([]byte, error), opts ...writer.Option) ([]byte, error) {
	if gen == nil {
		return nil, wrap("init", name, errNilFunc)
	}
	ctx, done, err := c.begin(ctx) // for initFast, which runs before run's own
	if err != nil {
		return nil, wrap("init", name, err)
	}
	defer done()
	if data, ok, err := c.initFast(ctx, name); err != nil || ok {
		return data, err
	}
	var out []byte
	err = c.run(ctx, "init", name, func(ctx context.Context, h *held, o *op) (*locking.Version, error) {
		ct, err := c.verify(ctx, h, c.cfg.maxReadSize)
		if err != nil {
			return nil, err
		}
		if ct.Exists {
			out = ct.Data
			return nil, nil
		}
		data, err := gen(c.fnContext(ctx, h))
		if err != nil {
			if cause := context.Cause(ctx); cause != nil {
				return nil, wrap("init", h.key, fmt.Errorf("%w (%v)", cause, err))
			}
			return nil, commandFailed(h.key, err)
		}
		if err := c.overLimit(data); err != nil {
			return nil, wrap("init", h.key, err)
		}
		won, v, err := c.createOnce(ctx, h, o, data, opts)
		if won != nil {
			out = won
			return nil, nil
		}
		if err == nil || errors.Is(err, writer.ErrDurabilityUnconfirmed) {
			out = data
		}
		return committed(v, wrapW("create", h.key, err))
	})
	if err != nil && !errors.Is(err, writer.ErrDurabilityUnconfirmed) {
		return nil, err
	}
	return out, err
}

// createOnce commits data as h's key create-only and returns the version it
// wrote (never nil; its token is 0 when none was) and the error or, when
// someone else created the file first, that file's content (won, non-nil).
//
// A create-only commit that fails with EEXIST does not prove that the file
// exists: on a network filesystem this host may still see a file another host
// has removed (a positive entry in the lookup cache, as sshfs and NFS keep
// for a while), and link(2), like the writer's check of the target, then fails
// without asking the server. So the file is read (its open reaches the
// server): shown, it is the winner's; not shown, it may be a stale positive
// entry of a removed file or a winner's file hidden by a negative entry, and
// the commit is tried again, never replacing a file (link), until one or the
// other shows, within the stale-view window.
func (c *Coordinator) createOnce(ctx context.Context, h *held, o *op, data []byte, opts []writer.Option) (won []byte, v *locking.Version, err error) {
	var wv locking.Version
	copts := append(opts[:len(opts):len(opts)], writer.CreateOnly())
	var until time.Time
	for attempt := 0; ; attempt++ {
		err = c.root.WriteFile(ctx, h.key, data, newFilePerm, c.wopts(ctx, o, h, &wv, copts)...)
		if !errors.Is(err, writer.ErrExist) {
			return nil, &wv, err
		}
		ct, rerr := c.root.ReadVersion(ctx, h.key, c.readLimit(), c.observeRetries(ctx))
		if rerr != nil {
			return nil, &wv, wrap("read winner", h.key, rerr)
		}
		if ct.Exists {
			// Created meanwhile by someone who does not share our locks: theirs wins.
			c.log.InfoContext(ctx, "create-only commit lost the race; returning the winner's content", "key", quote.Value(h.key))
			c.recordWinner(ctx, h, wv, ct)
			return nonNil(ct.Data), nil, nil
		}
		if attempt == 0 {
			until = time.Now().Add(c.staleWindow)
		}
		left := time.Until(until)
		if left <= 0 {
			return nil, &wv, wrap("read winner", h.key, fmt.Errorf("the create-only commit found the file there (EEXIST), but it is not visible: %w", writer.ErrStaleView))
		}
		if cerr := pause(ctx, min(windowBackoff(attempt), left)); cerr != nil {
			return nil, &wv, wrap("read winner", h.key, errors.Join(writer.ErrStaleView, cerr))
		}
	}
}

// recordWinner records the file a create-only commit found in its place
// (ct) as committed, when that commit had already written its floor and
// pending version (and, for a key with no record, the baseline "no file")
// before the link found it (v, its version, has a token): otherwise every
// later fresh read would take it for one edited outside sharedwrite (waited
// out through the stale-view window, and refused in strict mode). Not after
// the lease's loss: another holder may have committed since.
func (c *Coordinator) recordWinner(ctx context.Context, h *held, v locking.Version, ct writer.Content) {
	if v.Token == 0 {
		return
	}
	if _, err := c.checkCommit(ctx, h); err == nil {
		v.SHA256, v.Size, v.Length = ct.SHA256, ct.Size, ct.Size
		c.finish(ctx, h, v)
	}
}

// nonNil returns b, or an empty slice for nil: a winner's empty file is
// content all the same.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// initFast reads name without a lease when its committed record says it
// exists. A file over the read limit is an error at once: the locked path
// would refuse it too, after waiting for the lease.
func (c *Coordinator) initFast(ctx context.Context, name string) (data []byte, ok bool, err error) {
	key, err := c.resolve(name)
	if err != nil {
		return nil, false, err
	}
	rec, err := c.peekRecord(key)
	if err != nil || rec.Committed.Token == 0 || rec.Committed.Deleted {
		return nil, false, nil
	}
	ctx, o := c.tel.startOp(ctx, "init-read", name)
	ct, v, err := c.freshRead(ctx, key, rec, true, c.cfg.maxReadSize)
	o.end(ctx, OutcomeRead, err)
	if errors.Is(err, writer.ErrTooLarge) {
		return nil, false, err
	}
	if err != nil || !ct.Exists || v == nil {
		return nil, false, nil
	}
	return ct.Data, true, nil
}

// LeaseInfo describes the lease and lock Lock holds while its function runs.
type LeaseInfo struct {
	Key     string // the canonical path relative to the root
	LeaseID string
	Token   uint64 // the fencing token
	// Fd is the lock file's descriptor; a child process that inherits it can
	// adopt the lock (WithAdoptedLease).
	Fd    uintptr
	Lease locking.Lease
	// Turn is the scope in which the operations nested in fn and the
	// processes fn hands the lease to take turns on the key: give it to
	// such a process's WithAdoptedTurn.
	Turn string
}

// Lock runs fn holding name's lease and lock, after the floor check. Its
// token (LeaseInfo.Token) is above every earlier holder's, also in local mode
// and after Redis lost its data: the volume's floor is raised to it before fn
// runs. fn's
// context is cancelled, with cause ErrLeaseLost, when the lease is lost.
// Operations on the same key made with fn's context reuse the held lease
// instead of deadlocking; run concurrently, they take turns. One nested in
// another's function (in Update's or UpdateContext's, say) must be made with
// the context that function was given (UpdateContext gives one): made with
// fn's, it would wait for the turn of the operation it runs in, a deadlock,
// so it fails with ErrNotObtained after the lease TTL. An Appender's Append
// on the same key is refused (EDEADLK): it commits under its own lease. It
// returns fn's error as is, or an error wrapping ErrLeaseLost when the lease
// was lost while fn ran.
func (c *Coordinator) Lock(ctx context.Context, name string, fn func(ctx context.Context, info LeaseInfo) error) error {
	if fn == nil {
		return wrap("lock", name, errNilFunc)
	}
	var fnErr error
	err := c.run(ctx, "lock", name, func(ctx context.Context, h *held, o *op) (*locking.Version, error) {
		if !h.borrowed && h.rec.Floor.Token < h.lease.Token() {
			// fn may hand the token to a system that checks it: the next
			// holder must get a higher one even if fn commits nothing. Local
			// tokens come from the floor, and Redis's counter is raised past
			// it when Redis lost its data, so the floor is raised to this one.
			f := locking.Floor{Token: h.lease.Token(), LeaseID: h.lease.ID()}
			if err := h.fl.WriteFloorPending(f, h.rec.Pending); err != nil {
				return nil, wrap("lock floor", h.key, err)
			}
			h.rec.Floor = f
		}
		// The scope of the turns of fn's operations and of the processes
		// fn hands the lease to: the lease's own, or, when this Lock itself
		// has a turn in a scope, a new one within it.
		h.childTurn = h.lease.ID()
		if h.borrowed {
			withdraw, err := c.handDown(ctx, h)
			if err != nil {
				return nil, wrap("lock turn", h.key, err)
			}
			defer withdraw()
		}
		info := LeaseInfo{Key: h.key, LeaseID: h.lease.ID(), Token: h.lease.Token(), Fd: h.fl.Fd(), Lease: h.lease, Turn: h.childTurn}
		fnErr = fn(c.gate.withPlace(context.WithValue(context.WithValue(ctx, heldKey{c, h.key}, h), inLock{c}, true)), info)
		// Whether fn ran under the lease to its end: a loss after it (Redis
		// stalling while the lease is closed) does not undo what fn did.
		lerr := h.lease.Err()
		if !h.borrowed {
			c.closeHandedLease(ctx, h)
		}
		if lerr != nil {
			return nil, wrap("lock", h.key, lerr)
		}
		if fnErr != nil {
			return nil, fnErr
		}
		// Publish what nested operations committed under this lease.
		rec, err := h.fl.ReadRecord()
		if err == nil && rec.Committed.LeaseID == h.lease.ID() && rec.Committed.Token != 0 {
			return &rec.Committed, nil
		}
		return nil, nil
	})
	return err
}

// fenceAdvanceMax bounds the Redis round trip with which a Lock, when fn has
// returned, moves the fence counter past the floor it raised.
const fenceAdvanceMax = time.Second

// closeHandedLease ends, when fn has returned, what a top-level Lock handed
// its lease to (processes given LeaseInfo, fn's own goroutines): it waits for
// the operation in its turn, if any, to end, then raises the volume's floor
// one past the lease's token. A process that fn started and that outlives it
// would otherwise adopt the lease, or commit under it, after this Lock has
// released the key to another holder (a lost update): now its adoption is
// refused (the floor no longer shows the lease: checkAdopted) and so is its
// commit (the floor is above its token). The next holder's token goes past
// the floor as always.
func (c *Coordinator) closeHandedLease(ctx context.Context, h *held) {
	if tl, err := c.locks.Turn(ctx, h.key, h.childTurn); err == nil {
		defer tl.End()
	}
	rec, err := h.fl.ReadRecord()
	if err == nil && rec.Floor.Token <= h.lease.Token() {
		err = h.fl.WriteFloorPending(locking.Floor{Token: h.lease.Token() + 1, LeaseID: h.lease.ID()}, rec.Pending)
	}
	if err != nil {
		c.log.WarnContext(ctx, "lock: the floor was not raised past the lease handed down; a process still using it may commit late", "key", quote.Value(h.key), "err", err)
		return
	}
	// Redis's counter past that floor too, so that the next holder's token
	// is above it without a raise (kept for Redis handing tokens out again).
	// The lease's own token stays: a late adoption still finds the floor
	// one past it. Failing that, the next holder raises its token.
	if a, ok := h.lease.(interface{ AdvanceFence(context.Context) error }); ok {
		// Bounded: it is a help to the next holder, and a Redis that stalls
		// must not hold up the end of the Lock past fenceAdvanceMax. Done
		// also when the Lock's context has ended (its lease lost): the
		// floor was raised all the same.
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), fenceAdvanceMax)
		defer cancel()
		if err := a.AdvanceFence(actx); err != nil {
			c.log.DebugContext(ctx, "lock: the fence counter was not advanced past the floor; the next holder raises its token", "key", quote.Value(h.key), "err", err)
		}
	}
}
