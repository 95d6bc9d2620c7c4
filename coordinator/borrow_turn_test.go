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
