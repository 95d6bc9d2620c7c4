package coordinator

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/writer"
)

// TestPublishSurvivesConcurrentSweep: a Sweep with olderThan 0 (clean
// --older-than 0s) run while a PublishDir is between making its temp link and
// swapping it in leaves that link alone: a symlink cannot be flocked, so only
// its age tells an orphan, and Sweep removed it, failing the publish.
func TestPublishSurvivesConcurrentSweep(t *testing.T) {
	root := t.TempDir()
	c, other := open(t, local, root), open(t, local, root)
	for i, v := range []string{"v0", "v1"} {
		var serr error
		hook := writer.PreCommit(func(ctx context.Context, ch writer.Change) error {
			if ch.Op == "symlink" {
				_, serr = other.Sweep(context.Background(), 0)
			}
			return nil
		})
		fill := func(dir string) error { return os.WriteFile(filepath.Join(dir, "f"), []byte(v), 0o644) }
		if err := c.PublishDir(ctxT(t, 30*time.Second), "site", fill, 2, hook); err != nil {
			t.Fatalf("publish %d with a Sweep before its swap = %v (sweep: %v)", i, err, serr)
		}
		if got := readFile(t, filepath.Join(root, "site", "f")); got != v {
			t.Errorf("site/f = %q; want %q", got, v)
		}
	}
}
