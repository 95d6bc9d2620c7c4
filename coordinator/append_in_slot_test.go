package coordinator

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"
)

// An Append made from the function of a Lock on another key, on a
// Coordinator whose limits that Lock fills (WithLimits(1, …)), commits: its
// batch runs in the slot of the operation it was made from, as an operation
// nested in that Lock does. Before, the batch waited for that slot (the
// Lock's own), and the Append failed with ErrQueueFull at once, or waited
// until its context ended (WaitWhenFull, or a queue bound above 0).
func TestAppendInsideLockOnOtherKeyWithFullLimits(t *testing.T) {
	for _, m := range modes {
		for _, tc := range []struct {
			name string
			opts []Option
		}{
			{"no queue", []Option{WithLimits(1, 0)}},
			{"queue", []Option{WithLimits(1, 1)}},
			{"wait when full", []Option{WithLimits(1, 0), WaitWhenFull()}},
		} {
			t.Run(string(m)+"/"+tc.name, func(t *testing.T) {
				root := t.TempDir()
				c := open(t, m, root, tc.opts...)
				ctx := ctxT(t, 30*time.Second)
				a := c.Appender("app.log", BatchTimeout(20*time.Second))
				defer a.Close()
				var appendErr error
				err := c.Lock(ctx, "other", func(ctx context.Context, _ LeaseInfo) error {
					actx, cancel := context.WithTimeout(ctx, 5*time.Second)
					defer cancel()
					appendErr = a.Append(actx, []byte("in lock\n"))
					return nil
				})
				if err != nil {
					t.Fatalf("Lock: %v", err)
				}
				if appendErr != nil {
					t.Fatalf("Append inside a Lock on another key holding the only slot: %v; want it committed", appendErr)
				}
				if got, want := readFile(t, filepath.Join(root, "app.log")), "in lock\n"; got != want {
					t.Errorf("log holds %q; want %q", got, want)
				}
				checkGateEmpty(t, c)
			})
		}
	}
}

// A record appended from a Lock's function that joins a batch already
// waiting for a slot (an Append made outside any operation, with
// WaitWhenFull, while that Lock holds the only slot) ends the batch's wait:
// the batch runs in the Lock's slot, and both records are committed.
func TestAppendInsideLockJoinsBatchWaitingForSlot(t *testing.T) {
	root := t.TempDir()
	c := open(t, local, root, WithLimits(1, 0), WaitWhenFull())
	ctx := ctxT(t, 30*time.Second)
	a := c.Appender("app.log", BatchTimeout(20*time.Second))
	defer a.Close()
	outside := make(chan error, 1)
	var inside error
	err := c.Lock(ctx, "other", func(lctx context.Context, _ LeaseInfo) error {
		go func() { outside <- a.Append(ctx, []byte("outside\n")) }()
		// The outside record's batch starts and waits for the slot this
		// Lock holds.
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
			a.mu.Lock()
			started := a.run != nil
			a.mu.Unlock()
			if started {
				break
			}
			if time.Now().After(deadline) {
				t.Error("the outside record's batch never started")
				return nil
			}
		}
		select {
		case err := <-outside:
			t.Errorf("the outside Append returned (%v) while the Lock held the only slot", err)
			return nil
		case <-time.After(50 * time.Millisecond):
		}
		actx, cancel := context.WithTimeout(lctx, 5*time.Second)
		defer cancel()
		inside = a.Append(actx, []byte("inside\n"))
		return nil
	})
	if err != nil {
		t.Fatalf("Lock: %v", err)
	}
	if inside != nil {
		t.Fatalf("Append inside the Lock, behind a batch waiting for its slot: %v; want it committed", inside)
	}
	if err := <-outside; err != nil {
		t.Fatalf("Append outside the Lock: %v", err)
	}
	if got, want := readFile(t, filepath.Join(root, "app.log")), "outside\ninside\n"; got != want {
		t.Errorf("log holds %q; want %q", got, want)
	}
	checkGateEmpty(t, c)
}

// The limits still bound Appends made outside any operation: while a Lock
// holds the only slot and nothing may queue, such an Append fails with
// ErrQueueFull, and commits once the slot is free.
func TestAppendOutsideOperationsStillBounded(t *testing.T) {
	root := t.TempDir()
	c := open(t, local, root, WithLimits(1, 0))
	ctx := ctxT(t, 30*time.Second)
	a := c.Appender("app.log")
	defer a.Close()
	release := holdKey(t, c, "other")
	if err := a.Append(ctx, []byte("refused\n")); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("Append outside any operation while the only slot is held: %v; want ErrQueueFull", err)
	}
	if err := release(); err != nil {
		t.Fatal(err)
	}
	if err := a.Append(ctx, []byte("after\n")); err != nil {
		t.Fatalf("Append once the slot is free: %v", err)
	}
	if got, want := readFile(t, filepath.Join(root, "app.log")), "after\n"; got != want {
		t.Errorf("log holds %q; want %q", got, want)
	}
	checkGateEmpty(t, c)
}
