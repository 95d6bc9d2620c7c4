//go:build linux

package coordinator

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"testing"
	"time"
)

// Opening and closing coordinators leaves no goroutine or descriptor behind,
// also when Close ends a Watch, closes an Appender the caller left open and
// finds a streaming File still open (aborted after Close), and in Redis mode
// with the client Open built from a URL (its pool, the locker's pub/sub).
func TestOpenCloseLeavesNothingRunning(t *testing.T) {
	r := needRedis(t)
	for _, m := range modes {
		t.Run(string(m), func(t *testing.T) {
			root := t.TempDir()
			var opts []Option
			if m == rds {
				open(t, rds, root).Close() // initialises the volume
				opts = append(opts, WithRedisURL(r.URL()))
			}
			cycle := func(i int) {
				c, err := Open(context.Background(), root, opts...)
				if err != nil {
					t.Fatal(err)
				}
				ctx := ctxT(t, 20*time.Second)
				if err := c.WriteFile(ctx, "f", []byte(fmt.Sprint(i)), 0o644); err != nil {
					t.Fatal(err)
				}
				a := c.Appender("log")
				if err := a.Append(ctx, []byte("x\n")); err != nil {
					t.Fatal(err)
				}
				watching := make(chan struct{})
				watched := make(chan error, 1)
				go func() {
					watched <- c.Watch(ctx, "f", func(context.Context, Change) error { return nil },
						watchStarted(func() { close(watching) }))
				}()
				<-watching
				f, err := c.Create(ctx, "s", 0o644)
				if err != nil {
					t.Fatal(err)
				}
				if err := c.Close(); err != nil {
					t.Fatalf("Close: %v", err)
				}
				if err := <-watched; !errors.Is(err, ErrClosed) {
					t.Errorf("Watch after Close: %v; want ErrClosed", err)
				}
				f.Abort()
			}
			for i := range 3 {
				cycle(i) // warm up: the runtime's and the test's own goroutines
			}
			time.Sleep(200 * time.Millisecond)
			g0, f0 := runtime.NumGoroutine(), countFDs(t)
			for i := range 10 {
				cycle(i)
			}
			// What ends in the background (a pool's connections) has a
			// moment to do so.
			var g1, f1 int
			for range 50 {
				if g1, f1 = runtime.NumGoroutine(), countFDs(t); g1 <= g0 && f1 <= f0 {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			if g1 > g0 || f1 > f0 {
				buf := make([]byte, 1<<20)
				t.Errorf("after 10 Open/Close cycles: goroutines %d -> %d, descriptors %d -> %d; want no growth\n%s",
					g0, g1, f0, f1, buf[:runtime.Stack(buf, true)])
			}
		})
	}
}

// After Close every method fails with an error wrapping ErrClosed (an
// Appender made after Close: ErrAppenderClosed), without panicking, and
// a second Close returns what the first did.
func TestEveryMethodAfterCloseIsErrClosed(t *testing.T) {
	for _, m := range modes {
		t.Run(string(m), func(t *testing.T) {
			c := open(t, m, t.TempDir())
			ctx := ctxT(t, 10*time.Second)
			if err := c.WriteFile(ctx, "f", []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := c.Close(); err != nil {
				t.Fatal(err)
			}
			nop := func(context.Context, LeaseInfo) error { return nil }
			ops := map[string]func() error{
				"WriteFile": func() error { return c.WriteFile(ctx, "f", []byte("y"), 0o644) },
				"ReadFile":  func() error { _, err := c.ReadFile(ctx, "f"); return err },
				"Update": func() error {
					return c.Update(ctx, "f", func(b []byte, _ bool) ([]byte, error) { return b, nil })
				},
				"InitOnce": func() error {
					_, err := c.InitOnce(ctx, "i", func(context.Context) ([]byte, error) { return nil, nil })
					return err
				},
				"Lock":         func() error { return c.Lock(ctx, "f", nop) },
				"Create":       func() error { _, err := c.Create(ctx, "g", 0o644); return err },
				"MkdirAll":     func() error { return c.MkdirAll(ctx, "d", 0o755) },
				"Move":         func() error { return c.Move(ctx, "f", "h") },
				"Remove":       func() error { return c.Remove(ctx, "f") },
				"Tx":           func() error { return c.Tx(ctx, []TxFile{{Name: "a", Data: []byte("a")}}) },
				"PublishDir":   func() error { return c.PublishDir(ctx, "p", func(string) error { return nil }, 1) },
				"Sweep":        func() error { _, err := c.Sweep(ctx, time.Hour); return err },
				"RepairRecord": func() error { _, err := c.RepairRecord(ctx, "f"); return err },
				"Rotate":       func() error { _, err := c.Rotate(ctx, "f"); return err },
				"RotatedFiles": func() error { _, err := c.RotatedFiles("f"); return err },
				"CheckName":    func() error { return c.CheckName("f") },
				"Watch": func() error {
					return c.Watch(ctx, "f", func(context.Context, Change) error { return nil })
				},
			}
			for name, op := range ops {
				var p any
				var err error
				func() {
					defer func() { p = recover() }()
					err = op()
				}()
				switch {
				case p != nil:
					t.Errorf("%s after Close panicked: %v", name, p)
				case !errors.Is(err, ErrClosed):
					t.Errorf("%s after Close: %v; want ErrClosed", name, err)
				}
			}
			a := c.Appender("log")
			if err := a.Append(ctx, []byte("x\n")); !errors.Is(err, ErrAppenderClosed) {
				t.Errorf("Append to an Appender made after Close: %v; want ErrAppenderClosed", err)
			}
			if err := a.Close(); err != nil {
				t.Errorf("Close of that Appender: %v", err)
			}
			if err := c.Close(); err != nil {
				t.Errorf("second Close: %v; want nil, as the first", err)
			}
		})
	}
}
