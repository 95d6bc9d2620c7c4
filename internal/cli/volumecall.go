package cli

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"
)

// callGrace is how long a call on the volume may still take to return once
// its context has ended (--timeout passed, or a signal): long enough for a
// call on a slow volume to roll back what it started, so that the clean-up
// finds nothing in use, short enough that a volume that does not answer at
// all delays the exit by only that much.
const callGrace = time.Second

// errNoAnswer marks a call on the volume that did not return. With the
// deadline of --timeout as its cause it exits 3 (as a lease or lock not
// obtained in time); after a signal, 128 + the signal.
var errNoAnswer = errors.New("the volume did not answer")

// volumeCalls runs a command's calls on the volume (every command's: see
// withVolume, and bench's and doctor's own). A system call on a volume that
// stopped answering (a hung NFS or FUSE server) blocks in the kernel,
// where neither a deadline nor a signal interrupts it, and the coordinator's
// calls block with it: so each call runs in a goroutine of its own, as
// openFrom's open does, and one that has not returned callGrace after its
// context ended is left behind, blocked until the volume answers or the
// process exits. As for openFrom, that is acceptable only because the CLI
// exits right after. The volume is then stuck: no further call is made on it
// (the clean-up's and the closes included; they would block too), and what
// the clean-up would have removed is reported as left behind.
//
// The goroutine costs a hand-off per call: a call that is measured (bench)
// takes its own time inside fn.
type volumeCalls struct {
	timeout time.Duration // --timeout, for the message (0: the cause says it)
	// signalGrace, when set, replaces callGrace after a context that ended
	// otherwise than by its deadline (a signal): the time a command's own
	// tear-down may take (a CMD given SIGTERM, then SIGKILL).
	signalGrace time.Duration
	hung        atomic.Pointer[error]
}

// stuck returns the error of the first call that did not return, or nil.
func (v *volumeCalls) stuck() error {
	if p := v.hung.Load(); p != nil {
		return *p
	}
	return nil
}

// volumeCall runs fn, a call on the volume that ends when ctx does (or
// should), and returns its results; or an error wrapping errNoAnswer and
// context.Cause(ctx) when fn had not returned callGrace (or signalGrace)
// after ctx ended, or
// when the volume is already stuck (fn is then not called).
func volumeCall[T any](ctx context.Context, v *volumeCalls, fn func() (T, error)) (T, error) {
	var zero T
	if err := v.stuck(); err != nil {
		return zero, err
	}
	type result struct {
		val T
		err error
	}
	res := make(chan result, 1) // a call left behind must not block on its send
	go func() {
		val, err := fn()
		res <- result{val, err}
	}()
	select {
	case r := <-res:
		return r.val, r.err
	case <-ctx.Done():
	}
	// fn's own error, when it comes in time, says more (a lease wait names
	// the holder; a write rolled back says so).
	d := callGrace
	if v.signalGrace > 0 && !errors.Is(context.Cause(ctx), context.DeadlineExceeded) {
		d = v.signalGrace
	}
	grace := time.NewTimer(d)
	defer grace.Stop()
	select {
	case r := <-res:
		return r.val, r.err
	case <-grace.C:
	}
	cause := context.Cause(ctx)
	err := fmt.Errorf("%w: %w", errNoAnswer, cause)
	if errors.Is(cause, context.DeadlineExceeded) && v.timeout > 0 {
		err = fmt.Errorf("%w within --timeout %v: %w", errNoAnswer, v.timeout, cause)
	}
	v.hung.CompareAndSwap(nil, &err)
	return zero, v.stuck()
}

// do is volumeCall for a call that returns only an error.
func (v *volumeCalls) do(ctx context.Context, fn func() error) error {
	_, err := volumeCall(ctx, v, func() (struct{}, error) { return struct{}{}, fn() })
	return err
}

// cleanupContext is a context for a clean-up that runs also after ctx ended:
// bounded by --timeout, and, once ctx has ended (ctx carries no deadline: its
// end is a signal), ended callGrace after that, or after cleanupContext is
// called when ctx had already ended, with ctx's cause. A call on the volume
// then gets its own callGrace on top (see volumeCall), so that a volume that
// stops answering holds up the exit only that much after a signal, whenever
// the signal comes.
func (g *globals) cleanupContext(ctx context.Context) (context.Context, context.CancelFunc) {
	bctx, cancelBound := g.bounded(context.WithoutCancel(ctx))
	cctx, cancel := context.WithCancelCause(bctx)
	stop := context.AfterFunc(ctx, func() {
		grace := time.NewTimer(callGrace)
		defer grace.Stop()
		select {
		case <-grace.C:
			cancel(context.Cause(ctx))
		case <-cctx.Done():
		}
	})
	return cctx, func() {
		stop()
		cancel(nil)
		cancelBound()
	}
}
