package coordinator

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// checkGateEmpty fails unless every ticket and slot of c's gate is back.
func checkGateEmpty(t *testing.T, c *Coordinator) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for len(c.gate.admit) != 0 || len(c.gate.run) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("gate after every operation returned: %d tickets, %d run slots taken; want 0, 0", len(c.gate.admit), len(c.gate.run))
		}
		time.Sleep(time.Millisecond)
	}
}

// Many goroutines against WithLimits(2, 2): never more than 2 functions run
// at once, every refusal is ErrQueueFull, and nothing is left taken.
func TestGateConcurrent(t *testing.T) {
	c := open(t, local, t.TempDir(), WithLimits(2, 2))
	ctx := ctxT(t, 60*time.Second)
	var running, peak atomic.Int32
	var wg sync.WaitGroup
	var ok, full atomic.Int32
	errs := make(chan error, 32)
	for i := range 24 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := []string{"a", "b", "c", "d", "e", "f"}[i%6]
			err := c.Lock(ctx, name, func(context.Context, LeaseInfo) error {
				n := running.Add(1)
				for {
					p := peak.Load()
					if n <= p || peak.CompareAndSwap(p, n) {
						break
					}
				}
				time.Sleep(10 * time.Millisecond)
				running.Add(-1)
				return nil
			})
			switch {
			case err == nil:
				ok.Add(1)
			case errors.Is(err, ErrQueueFull):
				full.Add(1)
			default:
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("Lock: %v; want nil or ErrQueueFull", err)
	}
	if p := peak.Load(); p > 2 {
		t.Errorf("%d functions ran at once; want at most 2 (WithLimits(2, 2))", p)
	}
	if ok.Load() == 0 {
		t.Errorf("no operation ran (%d refused)", full.Load())
	}
	checkGateEmpty(t, c)
}

// A panic in an Update function, an error from it, a queued operation whose
// context ends, and a Create that cannot take its key all give back what they
// took from the gate.
func TestGateNoLeak(t *testing.T) {
	root := t.TempDir()
	c := open(t, local, root, WithLimits(1, 1))
	ctx := ctxT(t, 60*time.Second)

	func() {
		defer func() {
			if recover() == nil {
				t.Error("Update's panic did not reach the caller")
			}
		}()
		c.Update(ctx, "p", func([]byte, bool) ([]byte, error) { panic("user panic") })
	}()
	checkGateEmpty(t, c)

	if err := c.Update(ctx, "p", func([]byte, bool) ([]byte, error) { return nil, errors.New("fn failed") }); err == nil {
		t.Fatal("Update with a failing fn returned nil")
	}
	checkGateEmpty(t, c)

	// Queued behind a Lock, then cancelled.
	release := holdKey(t, c, "held")
	qctx, cancel := context.WithCancel(ctx)
	queued := make(chan error, 1)
	go func() { queued <- c.WriteFile(qctx, "q", []byte("q"), 0o644) }()
	for len(c.gate.admit) != 2 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-queued; !errors.Is(err, context.Canceled) {
		t.Errorf("queued WriteFile cancelled: %v; want context.Canceled", err)
	}
	if err := release(); err != nil {
		t.Fatal(err)
	}
	checkGateEmpty(t, c)

	// A Create that cannot take its key (another coordinator holds it).
	other := open(t, local, root)
	release = holdKey(t, other, "busy")
	short, cancel2 := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel2()
	if _, err := c.Create(short, "busy", 0o644); err == nil {
		t.Fatal("Create of a held key succeeded")
	}
	release()
	checkGateEmpty(t, c)
	if err := c.WriteFile(ctx, "after", []byte("x"), 0o644); err != nil {
		t.Fatalf("WriteFile after all that: %v", err)
	}
}

// An operation nested in an UpdateContext function, made with the context
// that function was given (as Lock's doc asks), runs in the Update's place in
// the gate, as one nested in a Lock function does: with one operation in
// flight allowed it must not wait for the Update it runs in.
func TestGateNestedInUpdate(t *testing.T) {
	for _, wait := range []bool{false, true} {
		name := "fail-fast"
		if wait {
			name = "wait-when-full"
		}
		t.Run(name, func(t *testing.T) {
			opts := []Option{WithLimits(1, 0)}
			if wait {
				opts = append(opts, WaitWhenFull())
			}
			c := open(t, local, t.TempDir(), opts...)
			ctx := ctxT(t, 30*time.Second)
			// The same nesting in a Lock function works.
			if err := c.Lock(ctx, "a", func(lctx context.Context, _ LeaseInfo) error {
				return c.WriteFile(lctx, "b", []byte("from lock"), 0o644)
			}); err != nil {
				t.Fatalf("WriteFile nested in Lock: %v", err)
			}
			uctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
			start := time.Now()
			err := c.UpdateContext(uctx, "a", func(fctx context.Context, old []byte, _ bool) ([]byte, error) {
				if err := c.WriteFile(fctx, "b", []byte("from update"), 0o644); err != nil {
					return nil, err
				}
				return []byte("a"), nil
			})
			if err != nil {
				t.Errorf("WriteFile nested in UpdateContext (limits 1, 0): %v after %v; want it to run in the Update's place, as in a Lock", err, time.Since(start).Round(time.Millisecond))
			}
		})
	}
}
