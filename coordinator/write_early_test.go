package coordinator

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// In Redis mode, on a volume whose fsync takes time, WriteFile writes its temp
// while the lease is awaited. When the lease is not obtained, it returns
// within its deadline (plus a margin) and nothing of that is left: no temp,
// and no directory (missing ones are made only under the lease); the held
// target is untouched. A write to a missing directory then succeeds.
func TestWriteNotObtainedLeavesNothing(t *testing.T) {
	for _, m := range modes {
		t.Run(string(m), func(t *testing.T) {
			root := t.TempDir()
			holder := open(t, m, root)
			waiter := open(t, m, root)
			setOverlap(waiter, true)
			ctx := ctxT(t, 30*time.Second)
			if err := os.Mkdir(filepath.Join(root, "d"), 0o755); err != nil {
				t.Fatal(err)
			}
			for _, name := range []string{"d/f", "new/sub/f"} {
				release := holdKey(t, holder, name)
				wait := notObtainedWait(m)
				short, cancel := context.WithTimeout(ctx, wait)
				start := time.Now()
				err := waiter.WriteFile(short, name, []byte("x"), 0o644)
				took := time.Since(start)
				cancel()
				if err := release(); err != nil {
					t.Fatal(err)
				}
				if !errors.Is(err, ErrNotObtained) {
					t.Fatalf("WriteFile(%s) = %v; want ErrNotObtained", name, err)
				}
				if took > wait+5*time.Second {
					t.Errorf("WriteFile(%s) returned %v after a %v deadline", name, took, wait)
				}
			}
			if ents, err := os.ReadDir(filepath.Join(root, "d")); err != nil || len(ents) != 0 {
				t.Errorf("d holds %v (%v); want nothing left", ents, err)
			}
			if _, err := os.Lstat(filepath.Join(root, "new")); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("directory of the failed write: Lstat = %v; want none", err)
			}
			setOverlap(waiter, true)
			if err := waiter.WriteFile(ctx, "new/sub/f", []byte("y"), 0o644); err != nil {
				t.Fatal(err)
			}
			if got := readFile(t, filepath.Join(root, "new/sub/f")); got != "y" {
				t.Errorf("content %q; want %q", got, "y")
			}
			ents, err := os.ReadDir(filepath.Join(root, "new/sub"))
			if err != nil {
				t.Fatal(err)
			}
			if len(ents) != 1 {
				var names []string
				for _, e := range ents {
					names = append(names, e.Name())
				}
				t.Errorf("new/sub holds %v; want only f", names)
			}
		})
	}
}
