package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/quote"
)

// withVolume opens the volume, runs fn and closes the volume. --timeout is a
// deadline on the work until fn calls acquired: ctx reports it (Deadline, so
// that the coordinator bounds its wait for the lease, the lock and a fresh
// view by it) and is cancelled when it passes. Commands that run a user's
// command call acquired once they hold the lease: it lifts the deadline, so
// that the command's own run time is bounded by the lease alone. When the
// deadline passed before acquired, ctx is already cancelled (the command does
// not start) and the result is the timeout (exit 3), not the command's
// failure. Commands that never call acquired are bounded by --timeout as a
// whole. label names the work for the progress line. In local mode a
// missing root is created (see openVolume).
func (g *globals) withVolume(ctx context.Context, label string, fn func(ctx context.Context, v *volume, acquired func()) error) error {
	return g.withVolumeAt(ctx, label, true, fn)
}

// withExistingVolume is withVolume for the commands that create no file:
// read, watch, rm, rotate, clean, repair-record. A missing root is refused
// (exit 5, ENOENT), in local mode too: it would otherwise become a new,
// empty directory, a mistyped --root or a volume that is not mounted, and
// those commands would answer about nothing (rotate, clean and
// repair-record with exit 0; watch for ever).
func (g *globals) withExistingVolume(ctx context.Context, label string, fn func(ctx context.Context, v *volume, acquired func()) error) error {
	return g.withVolumeAt(ctx, label, false, fn)
}

func (g *globals) withVolumeAt(ctx context.Context, label string, create bool, fn func(ctx context.Context, v *volume, acquired func()) error) error {
	stop := startProgress(g.stderr, label)
	defer stop()
	acquired := stop
	signalled := ctx // ended by a signal, not by --timeout
	var ac *acquireContext
	var late atomic.Bool
	if g.timeout > 0 {
		ac = newAcquireContext(ctx, g.timeout)
		defer ac.cancel(nil)
		ctx = ac
		acquired = func() {
			stop()
			if !ac.lift() {
				late.Store(true)
			}
		}
	}
	// Opening the volume and the work run apart (see volumeCalls): on a
	// volume that does not answer (a dead NFS server, a stopped FUSE
	// daemon), its calls block in the kernel, deaf to --timeout and to
	// signals, and the command would never end. The open is given up once
	// --timeout has passed or a signal came, after callGrace; the work only
	// after a signal, after g.commandGrace (--timeout bounds the wait for
	// the lease, the lock and Redis, which end by themselves when it passes,
	// but not what a command may do after them: a rotation's compression, a
	// CMD's run). A volume that stops answering during the work is left
	// only at a signal.
	var v *volume
	err := new(volumeCalls).do(ctx, func() (err error) {
		v, err = openVolume(ctx, g, label, create)
		return err
	})
	if err == nil {
		err = (&volumeCalls{signalGrace: g.commandGrace()}).do(signalled, func() error {
			err := fn(ctx, v, acquired)
			if cerr := v.Close(); err == nil && cerr != nil {
				err = fmt.Errorf("close volume %s: %w", quote.Name(g.root), cerr)
			}
			return err
		})
		if errors.Is(err, errNoAnswer) {
			return fmt.Errorf("%s: did not end within %v of the signal (the volume or Redis not answering); what it was doing may or may not have taken effect: %w",
				label, g.commandGrace(), err)
		}
	}
	if errors.Is(err, errNoAnswer) {
		return fmt.Errorf("%s: %w", label, err)
	}
	switch {
	case err == nil || ac == nil:
	case late.Load():
		// The lease came as the deadline passed: the command after `--`
		// was handed a cancelled context, so its failure is the timeout's.
		err = timeoutError{err: errors.New("the lease came only as the deadline passed; nothing was run or committed"), timeout: g.timeout}
	case ac.fired.Load() && !errors.Is(err, context.DeadlineExceeded):
		err = timeoutError{err: err, timeout: g.timeout}
	}
	return err
}

// commandGrace is how long a command may take to end after a signal before
// it is given up (see withVolume): a CMD's SIGTERM and, lockTermGrace later,
// its SIGKILL, then the lease's release (at most a TTL), and a margin.
func (g *globals) commandGrace() time.Duration {
	return lockTermGrace + g.leaseTTL + 5*time.Second
}

// acquireContext carries --timeout as a deadline that acquired lifts: until
// then Deadline reports it and Done closes when it passes (the cause wraps
// context.DeadlineExceeded); after lift, Deadline is the parent's and the
// deadline no longer cancels.
type acquireContext struct {
	context.Context // cancelled by the timer (or the parent)
	cancel          context.CancelCauseFunc
	timer           *time.Timer
	deadline        time.Time
	lifted, fired   atomic.Bool
}

func newAcquireContext(parent context.Context, timeout time.Duration) *acquireContext {
	ctx, cancel := context.WithCancelCause(parent)
	ac := &acquireContext{Context: ctx, cancel: cancel, deadline: time.Now().Add(timeout)}
	if dl, ok := parent.Deadline(); ok && dl.Before(ac.deadline) {
		ac.deadline = dl
	}
	ac.timer = time.AfterFunc(time.Until(ac.deadline), func() {
		ac.fired.Store(true)
		cancel(fmt.Errorf("--timeout %v passed: %w", timeout, context.DeadlineExceeded))
	})
	return ac
}

// Deadline is --timeout's deadline until lift, then the parent's.
func (c *acquireContext) Deadline() (time.Time, bool) {
	if c.lifted.Load() {
		return c.Context.Deadline()
	}
	return c.deadline, true
}

// lift stops the deadline; false when it had already passed (ctx is then
// cancelled). Lifting again is a no-op.
func (c *acquireContext) lift() bool {
	if c.lifted.Load() {
		return true
	}
	if !c.timer.Stop() {
		return false
	}
	c.lifted.Store(true)
	return true
}

// timeoutError is a failure after --timeout cancelled the work. It wraps
// context.DeadlineExceeded too, so that it counts as "not obtained in time"
// (exit 3) unless the error says something more precise (Redis unreachable,
// a lost lease, ...).
type timeoutError struct {
	err     error
	timeout time.Duration
}

func (e timeoutError) Error() string {
	return fmt.Sprintf("%v (--timeout %v passed)", e.err, e.timeout)
}

func (e timeoutError) Unwrap() []error { return []error{e.err, context.DeadlineExceeded} }

// bounded is ctx bounded by --timeout (0: no limit) as a whole, for the
// commands that take no lease.
func (g *globals) bounded(ctx context.Context) (context.Context, context.CancelFunc) {
	if g.timeout > 0 {
		return context.WithTimeout(ctx, g.timeout)
	}
	return context.WithCancel(ctx)
}

// readSource reads --from whole: a file, or stdin for "-". The open and the
// read end with context.Cause(ctx) once ctx ends, even while FILE is a named
// pipe that no writer opens, or stdin or the pipe has no data and no EOF (see
// openFrom and ctxReader). The content is held in memory and becomes the
// file, so an input longer than --max-read-size (0: no limit) is refused
// (EFBIG) as soon as it passes the limit, rather than read on until memory or
// --timeout runs out (an endless stdin, /dev/zero).
func (g *globals) readSource(ctx context.Context, from string) ([]byte, error) {
	var r io.Reader = g.stdin
	what := "stdin"
	if from != "-" {
		f, err := openFrom(ctx, from)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r, what = f, "--from "+quote.Name(from)
	}
	r = newCtxReader(ctx, r)
	if g.maxReadSize > 0 {
		r = io.LimitReader(r, g.maxReadSize+1)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", what, err)
	}
	if g.maxReadSize > 0 && int64(len(b)) > g.maxReadSize {
		return nil, fmt.Errorf("read %s: more than the read limit of %d bytes (--max-read-size), which the file would then exceed: %w",
			what, g.maxReadSize, syscall.EFBIG)
	}
	return b, nil
}

// openFrom opens --from FILE for reading, or returns context.Cause(ctx) once
// ctx ends first. Opening a named pipe blocks until a writer opens it, in
// open(2), which neither a deadline nor a signal interrupts; so the open runs
// in a goroutine of its own, and one that ctx ends first is left behind: it
// closes the file if the open completes later, and otherwise ends with the
// process. As for ctxReader, that is acceptable only because the CLI exits
// right after a cancelled command. Opening without blocking (O_NONBLOCK) is
// no way out: a read of a pipe that no writer opened yet would then return
// EOF at once, an empty content, instead of waiting for the writer.
func openFrom(ctx context.Context, name string) (*os.File, error) {
	type result struct {
		f   *os.File
		err error
	}
	res := make(chan result) // unbuffered: a result nobody takes is the goroutine's to close
	abandoned := make(chan struct{})
	go func() {
		f, err := os.Open(name)
		select {
		case res <- result{f, err}:
		case <-abandoned:
			if f != nil {
				f.Close() //nolint:errcheck // never read
			}
		}
	}()
	var r result
	select {
	case r = <-res:
	case <-ctx.Done():
		close(abandoned)
		r = result{err: context.Cause(ctx)}
	}
	if r.err != nil {
		var pe *fs.PathError
		if errors.As(r.err, &pe) {
			r.err = pe.Err // the path is in the message below
		}
		return nil, fmt.Errorf("open --from %s: %w", quote.Name(name), r.err)
	}
	// A directory opens for reading and fails only at the first read, by
	// which time `write` holds NAME's lease and lock (and has made its lock
	// file, and the root for it). It is refused here instead, with the
	// EISDIR that read would give (exit 5, as a directory given as move's
	// source).
	if fi, err := r.f.Stat(); err == nil && fi.IsDir() {
		r.f.Close() //nolint:errcheck // never read
		return nil, fmt.Errorf("open --from %s: %w", quote.Name(name), syscall.EISDIR)
	}
	return r.f, nil
}

// runFilter runs argv with in on stdin and returns its stdout. A command that
// cannot start or exits non-zero is a CommandFailed error for name (exit 8),
// and so is one whose output exceeds --max-read-size: the output becomes the
// file, which read, update and watch would then refuse, and it is held in
// memory (its pipe is closed once the limit is passed).
func (g *globals) runFilter(ctx context.Context, name string, argv []string, in []byte) ([]byte, error) {
	// Its stdin is the content, its stdout captured: never interactive, so
	// always in a group of its own.
	cmd := groupCommand(ctx, argv, false, filterWaitDelay)
	cmd.Stdin = bytes.NewReader(in)
	out := &cappedBuffer{limit: g.maxReadSize}
	cmd.Stdout = out
	cmd.Stderr = g.stderr
	err := cmd.Start()
	if err == nil {
		stop := startGuard(cmd, min(filterWaitDelay, g.leaseTTL/2), g.stderr)
		err = cmd.Wait()
		if err != nil {
			// Nothing is committed: nothing CMD started goes on. (While the
			// guard still holds the group's id.)
			stopGroup(cmd)
		}
		stop()
	}
	if out.over {
		return nil, newCommandFailed(name, 0, fmt.Errorf("the output of %s is more than the read limit of %d bytes (--max-read-size), which the file would then exceed: %w",
			quote.Name(argv[0]), g.maxReadSize, syscall.EFBIG))
	}
	if err == nil {
		return out.b.Bytes(), nil
	}
	status := 0 // not known: CMD did not start, or was killed by a signal
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		status = max(ee.ExitCode(), 0) // -1: killed by a signal, which err names
	case errors.Is(err, exec.ErrWaitDelay) && cmd.ProcessState != nil:
		// CMD exited, but its output stayed open: a process it left in the
		// background holds it, and the output may not be complete.
		status = cmd.ProcessState.ExitCode()
		err = fmt.Errorf("it exited with status %d, but its output was still open %v later (held by a process it started in the background, now stopped): %w",
			status, filterWaitDelay, err)
	}
	return nil, newCommandFailed(name, status, fmt.Errorf("run %s: %w", quote.Name(argv[0]), err))
}

// cappedBuffer keeps what is written to it up to limit bytes (limit <= 0:
// no limit); a write past it fails, and over says so.
type cappedBuffer struct {
	b     bytes.Buffer
	limit int64
	over  bool
}

func (c *cappedBuffer) Write(p []byte) (int, error) {
	if c.limit > 0 && int64(c.b.Len())+int64(len(p)) > c.limit {
		c.over = true
		return 0, syscall.EFBIG
	}
	return c.b.Write(p)
}

// parseMode parses an octal permission such as 0644.
func parseMode(s string) (os.FileMode, error) {
	m, err := strconv.ParseUint(s, 8, 32)
	if err != nil || m > 0o777 {
		// Only the permission bits: setuid, setgid and sticky (0o7000) are
		// not what os.FileMode holds there, and a file or directory with
		// them would be refused or written without them.
		return 0, usagef("--mode %s: want an octal permission from 0 to 0777, such as 0644 (setuid, setgid and sticky bits are not set by sharedwrite)", quote.Name(s))
	}
	return os.FileMode(m), nil
}

// filterWaitDelay is how long an update or init command has to exit after
// SIGTERM, and how long its output may stay open after it exited.
const filterWaitDelay = 2 * time.Second

// groupCommand is exec.CommandContext for argv, in a process group of its
// own unless interactive (ownGroup). When ctx ends, SIGTERM goes to the group
// (terminate); waitDelay later the command is killed, and output that a
// process it left in the background keeps open is no longer waited for.
func groupCommand(ctx context.Context, argv []string, interactive bool, waitDelay time.Duration) *exec.Cmd {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	ownGroup(cmd, interactive)
	cmd.Cancel = func() error { terminate(cmd.Process); return nil }
	cmd.WaitDelay = waitDelay
	return cmd
}

// interactive reports whether the CLI's stdin is a terminal.
func (g *globals) interactive() bool {
	f, ok := g.stdin.(*os.File)
	return ok && isTerminal(f.Fd())
}
