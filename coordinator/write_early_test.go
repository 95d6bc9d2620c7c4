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
// while the lease is awaited. When
// the lease is not obtained, nothing of that is left: no temp, and no
// directory the write created for it; the held target is untouched.
func TestWriteNotObtainedLeavesNothing(t *testing.T) {
	for _, m := range modes {
		t.Run(string(m), func(t *testing.T) {
			root := t.TempDir()
			holder := open(t, m, root)
			waiter := open(t, m, root)
			setOverlap(waiter, true)
			ctx := ctxT(t, 30*time.Second)
			release := holdKey(t, holder, "new/sub/f")
			short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
			defer cancel()
			err := waiter.WriteFile(short, "new/sub/f", []byte("x"), 0o644)
			if err := release(); err != nil {
				t.Fatal(err)
			}
			if !errors.Is(err, ErrNotObtained) {
				t.Fatalf("WriteFile = %v; want ErrNotObtained", err)
			}
			if _, err := os.Lstat(filepath.Join(root, "new")); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("directory the failed write created: Lstat = %v; want it removed", err)
			}
			// Then the same write succeeds and leaves only the target.
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
