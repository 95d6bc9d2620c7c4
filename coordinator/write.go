package coordinator

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"sync"

	"go.opentelemetry.io/otel/trace"

	"github.com/sharedwrite/sharedwrite/internal/quote"
	"github.com/sharedwrite/sharedwrite/locking"
	"github.com/sharedwrite/sharedwrite/writer"
)

// WriteFile replaces name with data under the key's lease and lock, as
// os.WriteFile would (perm applies to a new file, minus the umask; an existing
// file keeps its mode unless writer.Mode is given). opts are writer options
// (writer.Mode, writer.KeepMtime, writer.InPlaceIfBusy, writer.TempDir).
//
// It returns nil when committed; ErrDurabilityUnconfirmed when the change is
// visible but the directory fsync was refused; any other error means nothing
// changed (ErrNotObtained, ErrLeaseLost, ErrFenced, ErrOutsideRoot, ErrQueueFull,
// an errno). Cancelling ctx before the commit leaves the file unchanged.
func (c *Coordinator) WriteFile(ctx context.Context, name string, data []byte, perm fs.FileMode, opts ...writer.Option) error {
	if c.vol.mode == ModeRedis && c.overlapRecord() && len(data) <= earlyWriteMax {
		// The temp is created, written and fsynced while the lease's round
		// trip and the file lock are awaited; it becomes visible only
		// through the fenced commit. (Where fsync is nearly free, as on a
		// tmpfs, the second goroutine costs more than the overlap saves.)
		var w *earlyWrite
		return c.runPre(ctx, "write", name, c.resolve, func(ctx context.Context, key string, o *op) func() {
			w = c.startWrite(ctx, key, o, data, perm, opts)
			return w.abort
		}, func(ctx context.Context, h *held, o *op) (*locking.Version, error) {
			return w.commit(ctx, h, o, data, perm, opts)
		})
	}
	return c.run(ctx, "write", name, func(ctx context.Context, h *held, o *op) (*locking.Version, error) {
		return c.writeHeld(ctx, h, o, data, perm, opts)
	})
}

// writeHeld writes data to h's key under the held key.
func (c *Coordinator) writeHeld(ctx context.Context, h *held, o *op, data []byte, perm fs.FileMode, opts []writer.Option) (*locking.Version, error) {
	var v locking.Version
	if !c.overlapRecord() {
		err := c.root.WriteFile(ctx, h.key, data, perm, c.wopts(ctx, o, h, &v, opts)...)
		return committed(&v, wrapW("write", h.key, err))
	}
	var early *earlyPrepare
	f, err := c.root.Create(ctx, h.key, perm, append(c.wopts(ctx, o, nil, nil, opts), c.preCommitEarly(h, &v, &early))...)
	if err != nil {
		return nil, wrapW("write", h.key, err)
	}
	if _, err := f.Write(data); err != nil {
		_ = f.Abort()
		return nil, wrapW("write", h.key, err)
	}
	sha, size := f.Sum()
	early = c.startPrepare(ctx, h, sha, size)
	err = f.Commit(ctx)
	early.wait() // not awaited by the hook when the commit failed before it
	return committed(&v, wrapW("write", h.key, err))
}

// earlyWriteMax is the largest payload written before the key is held: a
// write that is not wanted (the key not obtained before the deadline) must
// be undone quickly, and a waiter must not fill the volume while it waits.
const earlyWriteMax = 1 << 20

// earlyWrite is a WriteFile's temp, created, written and fsynced (writer
// BeforeLock and File.Sync) in a goroutine of its own while the key is taken.
// Nothing of it is visible before commit, which runs the fenced commit under
// the held key; abort removes it when the key could not be taken.
type earlyWrite struct {
	c   *Coordinator
	key string
	f   *writer.File

	written  chan struct{} // closed when the content is in the temp (or failed)
	writeErr error
	sha      [32]byte
	size     int64
	synced   chan struct{} // closed when the temp is fsynced (or failed)
	syncErr  error
	panicked *any // what a callback panicked with in the goroutine (read once synced is closed)

	h     *held // set before the commit; read by its pre-commit hook
	v     locking.Version
	early *earlyPrepare
}

func (c *Coordinator) startWrite(ctx context.Context, key string, o *op, data []byte, perm fs.FileMode, opts []writer.Option) *earlyWrite {
	w := &earlyWrite{c: c, key: key, written: make(chan struct{}), synced: make(chan struct{})}
	hook := writer.PreCommit(func(ctx context.Context, ch writer.Change) error {
		return c.earlyHook(ctx, w.h, ch, &w.v, &w.early)
	})
	wopts := append(c.wopts(ctx, o, nil, nil, opts), writer.BeforeLock(), hook)
	go func() {
		defer close(w.synced)
		defer func() {
			// A callback of the caller's (an Observe function) panicked
			// here, off the caller's goroutine: the panic is handed to the
			// caller (commit, abort) to go on there, once the temp is gone.
			if p := recover(); p != nil {
				w.panicked = &p
				select {
				case <-w.written:
				default:
					// Seen by commit before it writes the record.
					w.writeErr = errCallbackPanicked
					close(w.written)
				}
			}
		}()
		f, err := c.root.Create(ctx, key, perm, wopts...)
		if err == nil {
			w.f = f
			_, err = f.Write(data)
			w.sha, w.size = f.Sum()
		}
		w.writeErr = err
		close(w.written)
		if err == nil {
			w.syncErr = f.Sync()
		}
	}()
	return w
}

// commit writes floor and pending while the temp's fsync runs, then commits
// the temp under h. A temp that could not be created because its directory
// is missing (directories are made only under the key) is written now, under
// h, as without the early start.
func (w *earlyWrite) commit(ctx context.Context, h *held, o *op, data []byte, perm fs.FileMode, opts []writer.Option) (*locking.Version, error) {
	c := w.c
	<-w.written
	if w.f == nil && errors.Is(w.writeErr, fs.ErrNotExist) {
		<-w.synced
		return c.writeHeld(ctx, h, o, data, perm, opts)
	}
	if w.writeErr == nil {
		w.early = c.newPrepare(h, w.sha, w.size)
		w.early.run(ctx, c, h) // while the temp's fsync runs
	}
	<-w.synced
	if w.panicked != nil {
		w.abort() // panics on
	}
	if err := cmp.Or(w.writeErr, w.syncErr); err != nil {
		w.abort()
		return nil, wrapW("write", h.key, err)
	}
	if w.early.err != nil {
		w.abort()
		return nil, wrap("write", h.key, w.early.err)
	}
	w.h = h
	err := w.f.Commit(ctx)
	return committed(&w.v, wrapW("write", h.key, err))
}

// errCallbackPanicked is the write error of an early write whose goroutine a
// caller's callback panicked in before the content was written.
var errCallbackPanicked = errors.New("a callback panicked")

// abort waits for the temp's goroutine and removes the temp; when a callback
// panicked in the goroutine, the panic goes on here.
func (w *earlyWrite) abort() {
	<-w.synced
	if w.f != nil {
		_ = w.f.Abort()
	}
	if w.panicked != nil {
		panic(*w.panicked)
	}
}

// wrapW wraps a writer error with the step, unless it is nil.
func wrapW(op, key string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, writer.ErrDurabilityUnconfirmed) {
		return err
	}
	return wrap(op, key, err)
}

// File is a streaming write (Create) holding its key's lease and lock until
// Commit or Abort. It is not safe for concurrent use.
type File struct {
	c       *Coordinator
	h       *held
	f       *writer.File
	o       *op
	octx    context.Context
	stop    func()
	leave   func()
	v       locking.Version
	early   *earlyPrepare
	once    sync.Once
	opCtx   context.Context
	closed  func() // ends the File's part in the coordinator's lifetime
	outcome string
	// werr is the first error Write or ReadFrom returned: the operation's
	// error when it then ends by Abort (the caller's answer to it).
	werr error
}

// Create takes name's lease and lock and opens a temp for a streaming write.
// Nothing is visible until Commit; Abort (or a failed Commit) removes the temp.
// The lease is held, and refreshed, until then: Commit or Abort must be called.
// ctx bounds the whole write: once it ends, Write, ReadFrom and Commit fail
// and nothing is committed. So does a Write or ReadFrom that failed: Commit
// then returns its error and commits nothing.
func (c *Coordinator) Create(ctx context.Context, name string, perm fs.FileMode, opts ...writer.Option) (_ *File, err error) {
	opCtx, o := c.tel.startOp(ctx, "create", name)
	opCtx, closed, err := c.openFile(opCtx)
	if err != nil {
		err = wrap("create", name, err)
		o.end(opCtx, OutcomeNotCommitted, err)
		return nil, err
	}
	fail := func(err error) (*File, error) {
		o.end(opCtx, OutcomeNotCommitted, err)
		closed()
		return nil, err
	}
	key, err := c.resolve(name)
	if err != nil {
		return fail(err)
	}
	o.span.SetAttributes(AttrKey.String(key))
	leave, err := c.enterGate(opCtx, key)
	if err != nil {
		return fail(wrap("queue", key, err))
	}
	// A File on a borrowed key does not wait for the key's turn among this
	// process's operations (see fileMark).
	h, err := c.take(context.WithValue(opCtx, fileMark{c, key}, true), key)
	if err != nil {
		leave()
		return fail(err)
	}
	o.held(h)
	octx, stop := withLeases(opCtx, h)
	cf := &File{c: c, h: h, o: o, octx: octx, stop: stop, leave: leave, opCtx: opCtx, closed: closed}
	cf.f, err = c.root.Create(octx, key, perm, append(c.wopts(opCtx, o, nil, nil, opts), c.preCommitEarly(h, &cf.v, &cf.early))...)
	if err != nil {
		return nil, cf.done(nil, wrap("create", key, err))
	}
	return cf, nil
}

// Name is the target's key (its canonical path relative to the root).
func (f *File) Name() string { return f.h.key }

// Write writes to the temp.
func (f *File) Write(p []byte) (int, error) {
	if err := context.Cause(f.octx); err != nil {
		return 0, f.keep(leaseWrap(wrap("write", f.h.key, err), f.h))
	}
	n, err := f.f.Write(p)
	return n, f.keep(err)
}

// keep records err as werr when it is the first, and returns it.
func (f *File) keep(err error) error {
	if err != nil && f.werr == nil {
		f.werr = err
	}
	return err
}

// ReadFrom copies r into the temp, until r ends or the operation's context
// does (the lease lost, ctx cancelled). The context is checked between reads:
// a Read already blocked in r returns first, so a reader that may block for
// long (a pipe, a network connection) needs a deadline of its own.
func (f *File) ReadFrom(r io.Reader) (int64, error) {
	n, err := f.f.ReadFrom(ctxReader{f.octx, r})
	if err != nil && f.octx.Err() != nil {
		err = leaseWrap(wrap("write", f.h.key, err), f.h)
	}
	return n, f.keep(err)
}

// Commit makes the written content visible (the full lease-aware, fenced
// commit) and releases the lease. Errors are those of WriteFile; after the
// coordinator's Close, ErrClosed (the temp removed).
func (f *File) Commit(ctx context.Context) error {
	ctx, end, err := f.c.begin(ctx)
	if err != nil {
		if aerr := f.f.Abort(); aerr != nil {
			err = errors.Join(err, aerr)
		}
		return f.done(nil, wrap("commit", f.h.key, err))
	}
	defer end()
	if f.h.borrowed {
		// Not in the middle of another operation of this process on the
		// key (an Update between its read and its commit).
		leave, err := f.c.localTurn(ctx, f.h)
		if err != nil {
			_ = f.f.Abort()
			return f.done(nil, wrap("commit", f.h.key, err))
		}
		defer leave()
	}
	// A write that failed (its bytes are not in the temp), or the end of the
	// context Create was given, which bounds the whole write: nothing is
	// committed.
	if err := cmp.Or(f.werr, context.Cause(f.octx)); err != nil {
		_ = f.f.Abort()
		if f.werr == nil {
			err = leaseWrap(wrap("commit", f.h.key, err), f.h)
		}
		return f.done(nil, err)
	}
	// The operation's span, which the caller's ctx does not carry: the
	// commit's steps (floor and pending, rename) are its children.
	cctx, stop := withLeases(trace.ContextWithSpan(ctx, f.o.span), f.h)
	defer func() {
		if p := recover(); p != nil {
			// A callback of the caller's panicked (the writer removed the
			// temp): the key is released as after a failed commit, and
			// the panic goes on.
			f.early.wait()
			stop()
			f.done(nil, wrap("commit", f.h.key, fmt.Errorf("panic: %v", p)))
			panic(p)
		}
	}()
	sha, size := f.f.Sum()
	f.early = f.c.startPrepare(cctx, f.h, sha, size)
	err = f.f.Commit(cctx)
	f.early.wait()
	stop()
	v, err := committed(&f.v, wrapW("commit", f.h.key, err))
	return f.done(v, err)
}

// Abort removes the temp (and the directories the write created) and releases
// the lease. It is a no-op after Commit.
func (f *File) Abort() error {
	var err error
	f.once.Do(func() {
		err = f.f.Abort()
		ferr := wrap("abort", f.h.key, err)
		if ferr == nil && f.werr == nil {
			// The operation's context ended (ctx, the lease's loss) while
			// the caller was reading its input: the reason the write
			// failed, for the span and the lease-lost count.
			if cause := context.Cause(f.octx); cause != nil {
				ferr = leaseWrap(wrap("write", f.h.key, cause), f.h)
			}
		}
		f.finishOnce(nil, ferr)
	})
	return err
}

// done ends the operation once and returns its final error.
func (f *File) done(v *locking.Version, err error) error {
	f.once.Do(func() { err = f.finishOnce(v, err) })
	return err
}

func (f *File) finishOnce(v *locking.Version, err error) error {
	c, h := f.c, f.h
	f.stop()
	outcome := OutcomeNotCommitted
	if v != nil {
		c.finish(f.opCtx, h, *v)
		outcome = OutcomeCommitted
		if err != nil {
			outcome = OutcomeUnconfirmed
		}
		if rerr := c.release(f.opCtx, h, v); rerr != nil {
			c.log.WarnContext(f.opCtx, "committed, but the release failed", "key", quote.Value(h.key), "err", rerr)
		}
	} else {
		if err == nil {
			err = f.werr // ended by Abort after a failed write: the reason
		}
		err = c.leaseErr(f.opCtx, err, h)
		_ = c.release(f.opCtx, h, nil)
	}
	f.leave()
	f.o.end(f.opCtx, outcome, err)
	f.closed()
	return err
}

// MkdirAll creates name and its missing parents inside the root, retrying
// transient errors within ctx; on failure it removes only the directories it
// created. Directories are not versioned, so no lease is taken. With
// writer.Mode the directories it creates get that mode exactly (see
// writer.Mode); otherwise perm less the umask, as os.MkdirAll.
func (c *Coordinator) MkdirAll(ctx context.Context, name string, perm fs.FileMode, opts ...writer.Option) (err error) {
	ctx, o := c.tel.startOp(ctx, "mkdir", name)
	defer func() { o.end(ctx, outcomeOf(err), err) }()
	ctx, done, err := c.begin(ctx)
	if err != nil {
		return wrap("mkdir", name, err)
	}
	defer done()
	leave, err := c.enterGate(ctx, "")
	if err != nil {
		return wrap("queue", name, err)
	}
	defer leave()
	// The directory made is the one checked: key, name with its symlinks
	// resolved. name itself would be resolved again, and a link in it
	// replaced meanwhile could lead into the metadata directory.
	key, err := c.resolveDir(name)
	if err != nil {
		return err
	}
	opts = append(opts[:len(opts):len(opts)], c.observe(ctx, o))
	if c.cfg.acceptUnconf {
		opts = append(opts, writer.AcceptUnconfirmedDurability(func(err error) {
			c.log.WarnContext(ctx, "created; durability unconfirmed (directory fsync refused)", "path", quote.Value(name), "err", err)
		}))
	}
	return wrapW("mkdir", name, c.root.MkdirAll(ctx, key, perm, opts...))
}

func outcomeOf(err error) string {
	switch {
	case err == nil:
		return OutcomeCommitted
	case errors.Is(err, writer.ErrDurabilityUnconfirmed):
		return OutcomeUnconfirmed
	}
	return OutcomeNotCommitted
}
