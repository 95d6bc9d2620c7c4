package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/quote"
)

// withVolume opens the volume, runs fn and closes the volume. --timeout bounds
// the work until fn calls acquired (commands that run a user's command call it
// once they hold the lease, so that the command's own run time is not bounded),
// or the whole of fn when it never does. label names the work for the progress
// line.
func (g *globals) withVolume(ctx context.Context, label string, fn func(ctx context.Context, v *volume, acquired func()) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stop := startProgress(g.stderr, label)
	acquired := stop
	var timedOut atomic.Bool
	if g.timeout > 0 {
		timer := time.AfterFunc(g.timeout, func() {
			timedOut.Store(true)
			cancel(fmt.Errorf("--timeout %v passed: %w", g.timeout, context.DeadlineExceeded))
		})
		acquired = func() { timer.Stop(); stop() }
		defer timer.Stop()
	}
	defer stop()
	v, err := openVolume(ctx, g)
	if err == nil {
		err = fn(ctx, v, acquired)
		if cerr := v.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("close volume %s: %w", quote.Name(g.root), cerr)
		}
	}
	if err != nil && timedOut.Load() && !errors.Is(err, context.DeadlineExceeded) {
		err = timeoutError{err: err, timeout: g.timeout}
	}
	return err
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

// readSource reads --from: a file, or stdin for "-".
func (g *globals) readSource(from string) ([]byte, error) {
	if from == "-" {
		b, err := io.ReadAll(g.stdin)
		if err != nil {
			return nil, fmt.Errorf("read stdin: %w", err)
		}
		return b, nil
	}
	b, err := os.ReadFile(from)
	if err != nil {
		return nil, fmt.Errorf("read --from %s: %w", quote.Name(from), err)
	}
	return b, nil
}

// runFilter runs argv with in on stdin and returns its stdout. A command that
// cannot start or exits non-zero is a CommandFailed error for name (exit 8).
func (g *globals) runFilter(ctx context.Context, name string, argv []string, in []byte) ([]byte, error) {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	// On cancel: SIGTERM, then SIGKILL, and stop waiting for output that a
	// background grandchild might keep open.
	cmd.Cancel = func() error { terminate(cmd.Process); return nil }
	cmd.WaitDelay = filterWaitDelay
	cmd.Stdin = bytes.NewReader(in)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = g.stderr
	err := cmd.Run()
	if err == nil {
		return out.Bytes(), nil
	}
	status := -1
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		status = ee.ExitCode()
	}
	return nil, newCommandFailed(name, status, fmt.Errorf("run %s: %w", quote.Name(argv[0]), err))
}

// parseMode parses an octal permission such as 0644.
func parseMode(s string) (os.FileMode, error) {
	m, err := strconv.ParseUint(s, 8, 32)
	if err != nil || m > 0o7777 {
		return 0, usagef("--mode %s: want an octal permission such as 0644", quote.Name(s))
	}
	return os.FileMode(m), nil
}

// filterWaitDelay is how long an update or init command has to exit after
// SIGTERM, and how long its output may stay open after it exited.
const filterWaitDelay = 2 * time.Second
