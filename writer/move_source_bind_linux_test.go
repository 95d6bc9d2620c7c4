//go:build linux

package writer

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
)

// A Move source that is a file of the root reached through a bind mount (of
// one of the root's sub-directories, as a Kubernetes subPath does, or of the
// root itself) is the root's file, as the coordinator takes it when it
// leases its key: its leftover in-place rewrite is settled first, as for the
// same source named inside the root (TestMoveSettlesSourceInPlace). The
// destination gets the restored content, not the torn one, and no marker or
// backup outlives the source.
func TestMoveSettlesSourceInPlaceThroughBindMount(t *testing.T) {
	oldData, newData := []byte("old content"), []byte("new")
	for _, tc := range []struct {
		name string
		bind string // the root's directory bound at the view
		src  string // the source, below the view
	}{
		{"sub-directory bound", "spool", "f"},
		{"root bound", ".", "spool/f"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, dir := openRoot(t)
			plantInPlace(t, nil, dir, "spool/f", oldData, newData, []byte("new content"), nil)
			mRel, bRel := inPlaceNames("spool/f")
			view := t.TempDir()
			testrig.BindMount(t, filepath.Join(dir, tc.bind), view)

			if err := r.Move(context.Background(), filepath.Join(view, tc.src), "g"); err != nil {
				t.Fatalf("Move: %v", err)
			}
			checkMovedSettled(t, r, dir, "spool/f", oldData, mRel, bRel)
		})
	}
}
