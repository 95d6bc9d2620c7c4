package coordinator

import (
	"context"
	"errors"

	"go.opentelemetry.io/otel/trace"

	"github.com/sharedwrite/sharedwrite/internal/quote"
	"github.com/sharedwrite/sharedwrite/locking"
	"github.com/sharedwrite/sharedwrite/writer"
)

// body is one operation's work on its held key; it returns the version it
// made visible, or nil when it committed nothing.
type body func(ctx context.Context, h *held, o *op) (*locking.Version, error)

// run is the frame of every single-key operation: backpressure, span, resolve,
// lease + lock + floor check, the body under a context that the lease's loss
// cancels, the committed record, and the release (which publishes the change).
func (c *Coordinator) run(ctx context.Context, opName, name string, fn body) error {
	return c.runKey(ctx, opName, name, c.resolve, fn)
}

// runKey is run with the function that turns name into its key.
func (c *Coordinator) runKey(ctx context.Context, opName, name string, resolve func(string) (string, error), fn body) error {
	return c.runPre(ctx, opName, name, resolve, nil, fn)
}

// pre starts an operation's work that needs neither lease nor lock (writing a
// temp) while run takes them; it returns the function that undoes that work
// when the key could not be taken.
type pre func(ctx context.Context, key string, o *op) (undo func())

// runPre is runKey with pre started (when not nil) before the key is taken.
func (c *Coordinator) runPre(ctx context.Context, opName, name string, resolve func(string) (string, error), start pre, fn body) (err error) {
	ctx, o := c.tel.startOp(ctx, opName, name)
	outcome := OutcomeNotCommitted
	defer func() { o.end(ctx, outcome, err) }()
	ctx, done, err := c.begin(ctx)
	if err != nil {
		return wrap(opName, name, err)
	}
	defer done()

	key, err := resolve(name)
	if err != nil {
		return err
	}
	o.span.SetAttributes(AttrKey.String(key))
	leave, err := c.enterGate(ctx, key)
	if err != nil {
		return wrap("queue", key, err)
	}
	defer leave()

	undo := func() {}
	if start != nil {
		undo = start(ctx, key, o)
	}
	h, err := c.take(ctx, key)
	if err != nil {
		undo()
		return err
	}
	o.held(h)
	if h.unborrow != nil {
		// Operations nested in fn on this key run in this one's turn.
		ctx = context.WithValue(ctx, borrowMark{c, key}, h.turn)
	}

	v, err := c.runBody(ctx, h, o, fn)

	if v != nil && (err == nil || errors.Is(err, writer.ErrDurabilityUnconfirmed)) {
		c.finish(ctx, h, *v)
		outcome = OutcomeCommitted
		if err != nil {
			outcome = OutcomeUnconfirmed
		}
		if rerr := c.release(ctx, h, v); rerr != nil {
			// The change is visible and recorded on the volume; only Redis's
			// copy of the record and the change event may be missing.
			c.log.WarnContext(ctx, "committed, but the release failed", "key", quote.Value(key), "err", rerr)
		}
		return err
	}
	err = c.leaseErr(ctx, err, h)
	if rerr := c.release(ctx, h, nil); rerr != nil {
		if err == nil && !errors.Is(rerr, locking.ErrLeaseLost) && !errors.Is(rerr, locking.ErrNotHeld) {
			// Done, with nothing to commit (a Lock whose function
			// succeeded, an InitOnce that read the winner's file), and the
			// lease held to the end as far as is known: what was asked
			// happened; the key stays held until its lease expires. (A
			// release that finds the lease gone says another holder may
			// have run meanwhile: that is the operation's error.)
			c.log.WarnContext(ctx, "done, but the release failed: the key stays held until its lease expires", "key", quote.Value(key), "err", rerr)
			return nil
		}
		if err == nil {
			return rerr
		}
		c.log.DebugContext(ctx, "release after a failed operation", "key", quote.Value(key), "err", rerr)
	}
	return err
}

// runBody runs fn on the held key, under a context that the lease's loss
// cancels. A panic in it (a caller's Update or Lock
// function) releases the lease and the lock before it goes on up: a caller
// that recovers it (net/http does, per request) would otherwise leave the key
// held, its lease refreshed, until the process exits.
func (c *Coordinator) runBody(ctx context.Context, h *held, o *op, fn body) (v *locking.Version, err error) {
	octx, stop := withLeases(ctx, h)
	defer stop()
	defer func() {
		if p := recover(); p != nil {
			if o != nil {
				o.panicked(p)
			}
			if rerr := c.release(context.WithoutCancel(ctx), h, nil); rerr != nil {
				c.log.WarnContext(ctx, "release after a panic", "key", quote.Value(h.key), "err", rerr)
			}
			panic(p)
		}
	}()
	return fn(octx, h, o)
}

// wopts are the writer options of a commit by h: the pre-commit hook, the
// step observer, the durability policy, and the caller's options.
func (c *Coordinator) wopts(ctx context.Context, o *op, h *held, out *locking.Version, extra []writer.Option) []writer.Option {
	opts := make([]writer.Option, 0, len(extra)+4)
	opts = append(opts, extra...)
	if c.cfg.tempDir != "" {
		opts = append(opts, writer.TempDir(c.cfg.tempDir))
	}
	opts = append(opts, c.observe(ctx, o))
	if c.cfg.acceptUnconf {
		opts = append(opts, writer.AcceptUnconfirmedDurability(func(err error) {
			c.log.WarnContext(ctx, "committed; durability unconfirmed (directory fsync refused)", "err", err)
		}))
	}
	if h != nil {
		opts = append(opts, c.preCommit(h, out))
	}
	return opts
}

// observe turns the writer's step events into child spans, span attributes and
// counters.
func (c *Coordinator) observe(ctx context.Context, o *op) writer.Option {
	return writer.Observe(func(ev writer.Event) {
		switch ev.Step {
		case "exdev-fallback":
			c.tel.add(ctx, c.tel.exdev)
			o.span.SetAttributes(AttrExdev.Bool(true))
		case "retry":
			c.tel.add(ctx, c.tel.retries)
		case "rollback":
			if !o.rolledBack.Swap(true) {
				c.tel.add(ctx, c.tel.rollbacks)
				o.span.SetAttributes(AttrRollback.Bool(true))
			}
		case "write":
			o.span.SetAttributes(AttrBytes.Int64(ev.Bytes))
		}
		// A step's span is a child of the operation's: when that one is not
		// recorded (no SDK installed, or sampled out), skip building it.
		if o.span.IsRecording() {
			c.tel.pastStep(ctx, ev.Step, ev.Dur, ev.Err, AttrPath.String(ev.Path), AttrBytes.Int64(ev.Bytes))
		}
	})
}

// observeRetries counts the transient errors a writer call retries and
// records each retry as a step of ctx's span (for calls made outside an
// operation's observe, such as the fresh read).
func (c *Coordinator) observeRetries(ctx context.Context) writer.Option {
	return writer.Observe(func(ev writer.Event) {
		if ev.Step != "retry" {
			return
		}
		c.tel.add(ctx, c.tel.retries)
		if trace.SpanFromContext(ctx).IsRecording() {
			c.tel.pastStep(ctx, ev.Step, ev.Dur, ev.Err, AttrPath.String(ev.Path))
		}
	})
}

// committed returns &v when err says the visible change happened.
func committed(v *locking.Version, err error) (*locking.Version, error) {
	if v.Token != 0 && (err == nil || errors.Is(err, writer.ErrDurabilityUnconfirmed)) {
		return v, err
	}
	return nil, err
}
