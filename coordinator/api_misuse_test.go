package coordinator

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
)

// In Redis mode, an operation called with a context that has already ended
// (cancelled, or a deadline already past) fails as in local mode, not with
// ErrUnavailable (it said "redis unavailable", exit 6, although Redis is up
// and was never asked: a false "Redis down" for a caller that alerts on it).
func TestRedisEndedContextIsNotUnavailable(t *testing.T) {
	root := t.TempDir()
	c := open(t, rds, root)
	if err := c.WriteFile(ctxT(t, 10*time.Second), "k", []byte("v0"), 0o644); err != nil {
		t.Fatal(err) // Redis is up and answers
	}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	expired, cancel2 := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel2()
	for _, tc := range []struct {
		name     string
		ctx      context.Context
		wantExit int
	}{
		{"cancelled", cancelled, ExitFailure},
		{"deadline passed", expired, ExitNotObtained},
	} {
		ops := map[string]func(ctx context.Context) error{
			"WriteFile": func(ctx context.Context) error { return c.WriteFile(ctx, "k", []byte("v1"), 0o644) },
			"Update": func(ctx context.Context) error {
				return c.Update(ctx, "k", func(b []byte, _ bool) ([]byte, error) { return b, nil })
			},
			"Lock": func(ctx context.Context) error {
				return c.Lock(ctx, "k", func(context.Context, LeaseInfo) error { return nil })
			},
		}
		for name, op := range ops {
			err := op(tc.ctx)
			if err == nil {
				t.Errorf("%s with a %s context: nil error", name, tc.name)
				continue
			}
			if errors.Is(err, ErrUnavailable) || ExitCode(err) == ExitUnavailable {
				t.Errorf("%s with a %s context (Redis up, never asked): %v\n  errors.Is(err, ErrUnavailable)=%v ExitCode=%d; want not ErrUnavailable, exit %d (as in local mode)",
					name, tc.name, err, errors.Is(err, ErrUnavailable), ExitCode(err), tc.wantExit)
			}
		}
	}
	if got := readFile(t, filepath.Join(root, "k")); got != "v0" {
		t.Errorf("k = %q; want v0 unchanged", got)
	}
}

// An operation nested in a top-level UpdateContext function (or InitOnce
// generator) on the same key, made with the context that function was given,
// is refused at once with EDEADLK (it waited for the key its own enclosing
// operation holds, until the caller's ctx ended: forever with
// context.Background()). The enclosing operation still commits.
func TestNestedInTopLevelUpdateRefused(t *testing.T) {
	const ttl = 2 * time.Second
	for _, m := range modes {
		t.Run(string(m), func(t *testing.T) {
			c := open(t, m, t.TempDir(), WithLeaseTTL(ttl))
			cases := map[string]func(ctx context.Context, inner chan<- error) error{
				"UpdateContext": func(ctx context.Context, inner chan<- error) error {
					return c.UpdateContext(ctx, "u", func(fctx context.Context, _ []byte, _ bool) ([]byte, error) {
						inner <- c.WriteFile(fctx, "u", []byte("inner"), 0o644)
						return []byte("outer"), nil
					})
				},
				"InitOnce": func(ctx context.Context, inner chan<- error) error {
					_, err := c.InitOnce(ctx, "i", func(gctx context.Context) ([]byte, error) {
						inner <- c.WriteFile(gctx, "i", []byte("inner"), 0o644)
						return []byte("outer"), nil
					})
					return err
				},
			}
			for name, run := range cases {
				// The caller's ctx is long; the nested write must not need it to end.
				ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
				defer cancel()
				inner := make(chan error, 1)
				outer := make(chan error, 1)
				go func() { outer <- run(ctx, inner) }()
				start := time.Now()
				select {
				case err := <-inner:
					if !errors.Is(err, syscall.EDEADLK) {
						t.Errorf("%s: nested same-key WriteFile = %v after %v; want EDEADLK", name, err, time.Since(start).Round(time.Millisecond))
					}
				case <-time.After(ttl + 5*time.Second):
					t.Errorf("%s: a WriteFile on the same key made with the function's ctx has not returned after %v (lease TTL %v): a self-deadlock that only the caller's ctx ends",
						name, ttl+5*time.Second, ttl)
					cancel() // end it (the caller's ctx), so that the test does not hang
				}
				select {
				case err := <-outer:
					if err != nil {
						t.Errorf("%s: the enclosing operation: %v; want it committed", name, err)
					}
				case <-time.After(10 * time.Second):
					t.Fatalf("%s: still running 10s after its ctx was cancelled", name)
				}
			}
		})
	}
}

// A Watch ended by its ctx's deadline logs no Redis outage. (It often logged
// "watch: Redis change notifications unavailable" as it ended, with Redis up:
// the subscription's I/O is cut by the deadline a moment before ctx's own
// timer fires, and the cut was taken for an outage; 11 of 20 in a run.)
func TestWatchDeadlineLogsNoRedisOutage(t *testing.T) {
	root := t.TempDir()
	var logs testrig.SyncBuffer
	c := open(t, rds, root, WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	ctx := ctxT(t, 60*time.Second)
	if err := c.WriteFile(ctx, "f", []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		wctx, cancel := context.WithTimeout(ctx, time.Duration(20+10*i)*time.Millisecond)
		err := c.Watch(wctx, "f", func(context.Context, Change) error { return nil }, WatchInitial())
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Watch: %v; want its deadline", err)
		}
	}
	// Redis was up all along.
	if err := c.WriteFile(ctx, "f", []byte("y"), 0o644); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(logs.String(), "notifications unavailable"); n > 0 {
		t.Errorf("%d of 20 Watch calls ended by their deadline logged a Redis outage (Redis was up):\n%s", n, logs.String())
	}
}

// A panic in PublishDir's fill removes the half-filled version directory and
// the parent directories the call created, as an error from fill does, and
// releases the key. (They were left: with no temp suffix Sweep does not
// remove them, and prune then counted the directory as a kept version.)
func TestPublishDirPanicLeavesNoVersionDir(t *testing.T) {
	for _, m := range modes {
		t.Run(string(m), func(t *testing.T) {
			root := t.TempDir()
			c := open(t, m, root)
			ctx := ctxT(t, 20*time.Second)
			if err := c.PublishDir(ctx, "site/cur", func(dir string) error {
				return os.WriteFile(filepath.Join(dir, "index"), []byte("v1"), 0o644)
			}, 2); err != nil {
				t.Fatal(err)
			}
			before := treeSnapshot(t, filepath.Join(root, "site"))
			var got any
			func() {
				defer func() { got = recover() }()
				_ = c.PublishDir(ctx, "site/cur", func(dir string) error {
					_ = os.WriteFile(filepath.Join(dir, "index"), []byte("half"), 0o644)
					panic("bug in fill")
				}, 2)
			}()
			if got != "bug in fill" {
				t.Fatalf("recovered %v; want fill's panic", got)
			}
			after := treeSnapshot(t, filepath.Join(root, "site"))
			if before != after {
				t.Errorf("after a panic in fill, site/ holds %v; before it %v: the panicked version directory was left behind", after, before)
			}
			// A new parent made by the panicked call is left too.
			func() {
				defer func() { recover() }()
				_ = c.PublishDir(ctx, "new/parent/cur", func(string) error { panic("bug in fill") }, 1)
			}()
			if _, err := os.Lstat(filepath.Join(root, "new")); err == nil {
				t.Errorf("after a panic in fill, the parent directories it created remain: %s", treeSnapshot(t, filepath.Join(root, "new")))
			}
			// The key is free again (released on the way up).
			if err := c.PublishDir(ctxT(t, 5*time.Second), "site/cur", func(string) error { return nil }, 2); err != nil {
				t.Errorf("PublishDir after the panic: %v", err)
			}
		})
	}
}

// Nil callbacks are refused with an error wrapping fs.ErrInvalid before any
// lease is taken (they panicked with a nil-pointer dereference deep inside
// the operation): Update, UpdateContext, InitOnce, Lock, PublishDir, Watch.
func TestNilCallbacksReturnError(t *testing.T) {
	root := t.TempDir()
	c := open(t, local, root)
	ctx := ctxT(t, 20*time.Second)
	if err := c.WriteFile(ctx, "w", []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	ops := []struct {
		name string
		f    func() error
	}{
		{"Update", func() error { return c.Update(ctx, "u", nil) }},
		{"UpdateContext", func() error { return c.UpdateContext(ctx, "u", nil) }},
		{"InitOnce", func() error { _, err := c.InitOnce(ctx, "i", nil); return err }},
		{"Lock", func() error { return c.Lock(ctx, "l", nil) }},
		{"PublishDir", func() error { return c.PublishDir(ctx, "p", nil, 1) }},
		{"Watch", func() error {
			wctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
			return c.Watch(wctx, "w", nil, WatchInitial())
		}},
	}
	for _, op := range ops {
		var p any
		var err error
		func() {
			defer func() { p = recover() }()
			err = op.f()
		}()
		if p != nil {
			t.Errorf("%s with a nil function panicked (%v); want an error", op.name, p)
		} else if !errors.Is(err, fs.ErrInvalid) {
			t.Errorf("%s with a nil function: %v; want an error wrapping fs.ErrInvalid", op.name, err)
		}
	}
}
