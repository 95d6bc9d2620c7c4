//go:build linux

package coordinator

import (
	"errors"
	"io/fs"
	"path/filepath"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
)

// A Move source inside the root, reached through a bind mount of one of the
// root's sub-directories (a Kubernetes subPath, `mount --bind root/spool
// /spool`), is the root's file: its key is leased and recorded as deleted, so
// readers see it gone.
func TestMoveSourceThroughBoundSubdir(t *testing.T) {
	for _, m := range modes {
		t.Run(string(m), func(t *testing.T) {
			root := t.TempDir()
			c := open(t, m, root, Strict(), WithStaleWindow(300*time.Millisecond))
			ctx := ctxT(t, 30*time.Second)
			if err := c.WriteFile(ctx, "spool/x", []byte("spooled"), 0o644); err != nil {
				t.Fatal(err)
			}
			view := t.TempDir()
			testrig.BindMount(t, filepath.Join(root, "spool"), view)
			if err := c.Move(ctx, filepath.Join(view, "x"), "dst"); err != nil {
				t.Fatalf("Move: %v", err)
			}
			if got := readFile(t, filepath.Join(root, "dst")); got != "spooled" {
				t.Fatalf("dst = %q", got)
			}
			if _, err := c.ReadFile(ctx, "spool/x"); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("ReadFile(spool/x) after it was moved away = %v; want fs.ErrNotExist", err)
			}
			rec, err := c.peekRecord("spool/x")
			if err != nil {
				t.Fatal(err)
			}
			if !rec.Committed.Deleted && !rec.Pending.Deleted {
				t.Fatalf("spool/x was moved away (it is the same file as %s/x), but its record still says committed (token %d, size %d, deleted %v; pending deleted %v)",
					view, rec.Committed.Token, rec.Committed.Size, rec.Committed.Deleted, rec.Pending.Deleted)
			}
		})
	}
}
