package coordinator

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// Operations nested in a Lock function run in the Lock's place in the gate,
// one at a time: a function that starts many at once, on keys of their own
// (each taking a lease of its own), does not get them all in flight beyond
// WithLimits. With WithLimits(1, 0) and the Lock in the only slot, at most
// one of them runs in the Lock's place; the others are refused with
// ErrQueueFull, as operations beyond the bounds are.
func TestNestedOperationsStayWithinLimits(t *testing.T) {
	const n = 6
	c := open(t, local, t.TempDir(), WithLimits(1, 0))
	ctx := ctxT(t, 30*time.Second)

	var mu sync.Mutex
	running, returned, peak := 0, 0, 0
	changed := make(chan struct{}, 2*n)
	note := func(f func()) {
		mu.Lock()
		f()
		mu.Unlock()
		for range n {
			select {
			case changed <- struct{}{}:
			default:
			}
		}
	}
	var errs []error
	err := c.Lock(ctx, "outer", func(lctx context.Context, _ LeaseInfo) error {
		var wg sync.WaitGroup
		errs = make([]error, n)
		for i := range n {
			wg.Go(func() {
				defer note(func() { returned++ })
				errs[i] = c.Lock(lctx, fmt.Sprintf("k%d", i), func(context.Context, LeaseInfo) error {
					note(func() { running++; peak = max(peak, running) })
					defer note(func() { running-- })
					// Stay until every other nested operation is in flight
					// too or has returned, so that the peak counts all that
					// could run at once.
					deadline := time.After(5 * time.Second)
					for {
						mu.Lock()
						settled := running+returned == n
						mu.Unlock()
						if settled {
							return nil
						}
						select {
						case <-changed:
						case <-deadline:
							return nil
						}
					}
				})
			})
		}
		wg.Wait()
		return nil
	})
	if err != nil {
		t.Fatalf("Lock(outer): %v", err)
	}
	ran := 0
	for i, err := range errs {
		switch {
		case err == nil:
			ran++
		case errors.Is(err, ErrQueueFull):
		default:
			t.Errorf("nested Lock(k%d): %v; want nil or ErrQueueFull", i, err)
		}
	}
	if peak > 1 {
		t.Errorf("%d operations nested in one Lock ran at once with WithLimits(1, 0), each holding a lease of its own; want at most 1 (the Lock's place)", peak)
	}
	if ran == 0 {
		t.Errorf("no nested operation ran; want one in the Lock's place")
	}
	checkGateEmpty(t, c)
}

// A nested operation that finds its function's place taken is queued within
// WithLimits's queue bound, and runs in that place once it frees (the slots
// are all held): with WithLimits(1, 1) two operations started at once in a
// Lock function both succeed, one after the other.
func TestNestedOperationQueuedForTheLocksPlace(t *testing.T) {
	c := open(t, local, t.TempDir(), WithLimits(1, 1))
	ctx := ctxT(t, 30*time.Second)
	var mu sync.Mutex
	running, peak, ended := 0, 0, 0
	err := c.Lock(ctx, "outer", func(lctx context.Context, _ LeaseInfo) error {
		errs := make(chan error, 2)
		for i := range 2 {
			go func() {
				errs <- c.Lock(lctx, fmt.Sprintf("k%d", i), func(context.Context, LeaseInfo) error {
					mu.Lock()
					running++
					peak = max(peak, running)
					mu.Unlock()
					defer func() { mu.Lock(); running--; ended++; mu.Unlock() }()
					// Until the other is in flight too, queued, or done.
					for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
						mu.Lock()
						both, other := running == 2, ended == 1
						mu.Unlock()
						if both || other || len(c.gate.admit) == 2 {
							break
						}
					}
					return nil
				})
			}()
		}
		for range 2 {
			if err := <-errs; err != nil {
				t.Errorf("nested Lock: %v; want both to run, one queued for the Lock's place", err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Lock(outer): %v", err)
	}
	if peak > 1 {
		t.Errorf("%d operations nested in one Lock ran at once with WithLimits(1, 1); want at most 1 (the Lock's place)", peak)
	}
	checkGateEmpty(t, c)
}
