package coordinator

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/locking"
)

// An operation nested in another nested operation's function but made with
// the Lock function's context would wait for the turn of the operation it
// runs in: it fails with ErrNotObtained after the lease TTL instead of
// hanging, and the outer operations still finish.
func TestNestedWithOuterContextDoesNotHang(t *testing.T) {
	for _, m := range modes {
		t.Run(string(m), func(t *testing.T) {
			const ttl = 500 * time.Millisecond
			c := open(t, m, t.TempDir(), WithLeaseTTL(ttl))
			ctx := ctxT(t, time.Minute)
			var inner error
			done := make(chan error, 1)
			go func() {
				done <- c.Lock(ctx, "k", func(lctx context.Context, _ LeaseInfo) error {
					return c.Update(lctx, "k", func(old []byte, _ bool) ([]byte, error) {
						inner = c.WriteFile(lctx, "k", []byte("inner"), 0o644)
						return []byte("outer"), nil
					})
				})
			}()
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("Lock = %v", err)
				}
			case <-time.After(ttl + 20*time.Second):
				t.Fatal("the nested operations hang")
			}
			if !errors.Is(inner, ErrNotObtained) {
				t.Errorf("the write made with the outer context = %v; want ErrNotObtained", inner)
			}
			if b, err := c.ReadFile(ctx, "k"); err != nil || string(b) != "outer" {
				t.Errorf("k = %q, %v; want the Update's %q", b, err, "outer")
			}
		})
	}
}

// An outcome that is unknown is not "nothing committed": exit 1, also joined
// with the lease's loss (which alone is exit 4).
func TestOutcomeUnknownExitCode(t *testing.T) {
	err := errors.Join(fmt.Errorf("append: %w", ErrOutcomeUnknown), locking.ErrLeaseLost)
	if got := ExitCode(err); got != ExitFailure {
		t.Errorf("ExitCode(%v) = %d; want %d", err, got, ExitFailure)
	}
}

// Turns taken on borrowed keys, granted or given up when their wait ends,
// leave no entry behind: a long-lived process borrows ever new keys.
func TestBorrowTurnsAreDropped(t *testing.T) {
	c := open(t, local, t.TempDir(), WithLeaseTTL(300*time.Millisecond))
	ctx := ctxT(t, time.Minute)
	for i := range 20 {
		key := fmt.Sprintf("k%d", i)
		err := c.Lock(ctx, key, func(lctx context.Context, _ LeaseInfo) error {
			return c.Update(lctx, key, func([]byte, bool) ([]byte, error) {
				if n := c.borrowed.entries(); n != 1 {
					t.Errorf("%d turn entries while %s's Update has the turn; want 1", n, key)
				}
				if i%2 == 1 {
					// Waits for the Update's turn until its own bound.
					if err := c.WriteFile(lctx, key, []byte("inner"), 0o644); !errors.Is(err, ErrNotObtained) {
						t.Errorf("a write waiting for the Update's turn = %v; want ErrNotObtained", err)
					}
				}
				return []byte(key), nil
			})
		})
		if err != nil {
			t.Fatalf("Lock %s = %v", key, err)
		}
	}
	if n := c.borrowed.entries(); n != 0 {
		t.Errorf("%d turn entries after every borrowed operation ended; want 0", n)
	}
}

// entries is the number of keys with a turn entry.
func (b *borrowTurns) entries() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.m)
}
