//go:build linux

package writer

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestInPlaceCommittedReportedAsCommitted: once the new content is written in
// place and fsynced, the change is visible and durable; a failure to clean up
// the intent marker afterwards must not be reported as an error that says
// nothing changed. (The hook makes the marker unremovable: it swaps it for a
// non-empty directory of the same name.)
func TestInPlaceCommittedReportedAsCommitted(t *testing.T) {
	r, dir, source := busyRig(t, "old content")
	mRel, _ := inPlaceNames("mounted")
	marker := filepath.Join(dir, mRel)
	hook := PreCommit(func(_ context.Context, c Change) error {
		if c.Op != "inplace" {
			return nil
		}
		if err := os.Remove(marker); err != nil {
			return err
		}
		if err := os.Mkdir(marker, 0o755); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(marker, "pin"), nil, 0o600)
	})
	t.Cleanup(func() { os.RemoveAll(marker) })
	err := r.WriteFile(context.Background(), "mounted", []byte("new"), 0o644, InPlaceIfBusy(), hook)
	if got := readString(t, source); got != "new" {
		t.Fatalf("target: got %q; want %q (the in-place write should have happened)", got, "new")
	}
	if err != nil && !errors.Is(err, ErrDurabilityUnconfirmed) {
		t.Errorf("WriteFile with the new content in place: %v; want nil (committed), not an error that means nothing changed", err)
	}
	noTemps(t, dir)
}
