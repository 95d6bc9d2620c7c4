package writer

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// TestVanishedTempIsNotCommitted: when the temp is removed before the
// rename (by a sweeper that cannot see the writer's flock, an admin, a
// crashed rollback), the rename fails with ENOENT and nothing changed: the
// commit must say so, not report the target's old content as committed.
func TestVanishedTempIsNotCommitted(t *testing.T) {
	r, dir := openRoot(t)
	p := filepath.Join(dir, "cfg")
	mustWrite(t, p, "old", 0o644)
	hook := PreCommit(func(_ context.Context, c Change) error {
		return os.Remove(filepath.Join(dir, c.Temp))
	})
	err := r.WriteFile(context.Background(), "cfg", []byte("new"), 0o644, hook)
	got := readString(t, p)
	t.Logf("WriteFile: %v; cfg holds %q", err, got)
	if err == nil && got != "new" {
		t.Errorf("WriteFile returned nil (committed) but cfg holds %q; want an error (not committed) or %q", got, "new")
	}
}
