//go:build unix

package coordinator

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestRemoveNotRegular: Remove refuses a directory and a FIFO with
// ErrNotRegular (exit 5) and leaves them in place.
func TestRemoveNotRegular(t *testing.T) {
	for _, m := range modes {
		t.Run(string(m), func(t *testing.T) {
			root := t.TempDir()
			c := open(t, m, root)
			if err := os.Mkdir(filepath.Join(root, "dir"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := syscall.Mkfifo(filepath.Join(root, "fifo"), 0o644); err != nil {
				t.Fatal(err)
			}
			ctx := ctxT(t, time.Minute)
			for _, name := range []string{"dir", "fifo"} {
				err := c.Remove(ctx, name)
				if !errors.Is(err, ErrNotRegular) || ExitCode(err) != ExitBadPath {
					t.Errorf("Remove(%s): got %v (exit %d); want ErrNotRegular (exit %d)", name, err, ExitCode(err), ExitBadPath)
				}
				if _, err := os.Lstat(filepath.Join(root, name)); err != nil {
					t.Errorf("%s after the refusal: %v", name, err)
				}
			}
		})
	}
}
