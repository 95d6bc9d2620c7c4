package coordinator

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// An Append made with the context of a Lock on the log's own key is refused
// at once (EDEADLK), nothing written: the Appender commits under its own
// lease, which would wait for that Lock until the batch timed out. After the
// Lock, the same Appender appends.
func TestAppendInsideLockRefused(t *testing.T) {
	for _, m := range modes {
		t.Run(string(m), func(t *testing.T) {
			root := t.TempDir()
			c := open(t, m, root)
			ctx := ctxT(t, 30*time.Second)
			a := c.Appender("app.log", BatchTimeout(10*time.Second))
			defer a.Close()
			var appendErr error
			var took time.Duration
			err := c.Lock(ctx, "app.log", func(ctx context.Context, _ LeaseInfo) error {
				start := time.Now()
				appendErr = a.Append(ctx, []byte("in lock\n"))
				took = time.Since(start)
				return nil
			})
			if err != nil {
				t.Fatalf("Lock: %v", err)
			}
			if !errors.Is(appendErr, syscall.EDEADLK) || took > 2*time.Second {
				t.Fatalf("Append with Lock's context = %v after %v; want EDEADLK at once", appendErr, took)
			}
			if _, err := os.Lstat(filepath.Join(root, "app.log")); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("app.log after the refused Append: %v; want nothing written", err)
			}
			if err := a.Append(ctx, []byte("after\n")); err != nil {
				t.Fatalf("Append after the Lock: %v", err)
			}
			if got, want := readFile(t, filepath.Join(root, "app.log")), "after\n"; got != want {
				t.Errorf("log holds %q; want %q", got, want)
			}
		})
	}
}
