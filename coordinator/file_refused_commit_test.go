package coordinator

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestFileCommitRefusedAfterAFailedWriteOrCancel: a streaming File whose
// Write failed, or whose Create context was cancelled, commits nothing:
// Commit (with a context of its own) returns the failure, the file and its
// directory stay as they were, no temp is left, and the key is free at once.
// Before, Commit committed what the temp held: "part" without the failed
// Write's bytes, or the whole content after the cancel.
func TestFileCommitRefusedAfterAFailedWriteOrCancel(t *testing.T) {
	for _, m := range modes {
		for _, failWrite := range []bool{true, false} {
			t.Run(string(m)+map[bool]string{true: "/failed-write", false: "/cancelled"}[failWrite], func(t *testing.T) {
				root := t.TempDir()
				c := open(t, m, root, WithLeaseTTL(time.Minute))
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				f, err := c.Create(ctx, "d/s", 0o644)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := f.Write([]byte("part")); err != nil {
					t.Fatal(err)
				}
				cancel()
				if failWrite {
					if _, err := f.Write([]byte("more")); !errors.Is(err, context.Canceled) {
						t.Fatalf("Write after the cancel: %v; want context.Canceled", err)
					}
				}
				err = f.Commit(ctxT(t, 10*time.Second))
				if !errors.Is(err, context.Canceled) {
					t.Errorf("Commit: %v; want an error wrapping context.Canceled", err)
				}
				if _, err := os.Lstat(filepath.Join(root, "d")); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("d after the refused Commit: %v; want it not made (rolled back)", err)
				}
				if temps := tempsIn(t, root); len(temps) > 0 {
					t.Errorf("temps left: %q", temps)
				}
				start := time.Now()
				if err := open(t, m, root).WriteFile(ctxT(t, 10*time.Second), "d/s", []byte("next"), 0o644); err != nil || time.Since(start) > 5*time.Second {
					t.Errorf("another coordinator's WriteFile: %v after %v; want it at once", err, time.Since(start).Round(time.Millisecond))
				}
			})
		}
	}
}
