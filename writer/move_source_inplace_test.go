package writer

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// A Move whose source is a file of the root with a leftover in-place
// rewrite (marker and backup: its rewrite died, the file may be torn)
// settles it first, as every operation on that file does (Remove:
// TestRemoveSettlesInPlace): the destination gets the restored content,
// not the torn one, and no marker or backup outlives the source (a later
// operation on its name would bring the moved file back from the backup).
func TestMoveSettlesSourceInPlace(t *testing.T) {
	r, dir := openRoot(t)
	oldData, mRel, bRel := plantTornInPlace(t, dir)
	if err := r.Move(context.Background(), filepath.Join(dir, "f"), "g"); err != nil {
		t.Fatalf("Move: %v", err)
	}
	checkMovedSettled(t, r, dir, "f", oldData, mRel, bRel)
}

// checkMovedSettled checks a Move of src, whose in-place rewrite died, to g:
// g holds the restored content oldData, and neither src nor its marker mRel
// nor its backup bRel is left.
func checkMovedSettled(t *testing.T, r *Root, dir, src string, oldData []byte, mRel, bRel string) {
	t.Helper()
	if got := readString(t, filepath.Join(dir, "g")); got != string(oldData) {
		t.Errorf("g after the Move = %q; want the source's restored content %q, not the torn one", got, oldData)
	}
	for _, p := range []string{src, mRel, bRel} {
		if _, err := os.Lstat(filepath.Join(dir, p)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s after the Move: %v; want gone", p, err)
		}
	}
	// No restore brings the moved file back at src.
	if _, err := r.ReadFile(context.Background(), src); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ReadFile(%s) after the Move: %v; want fs.ErrNotExist", src, err)
	}
}
