package writer

import (
	"context"
	"crypto/sha256"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRemove(t *testing.T) {
	r, dir := openRoot(t)
	ctx := context.Background()
	mustWrite(t, filepath.Join(dir, "sub", "f"), "data", 0o644)
	var changes []Change
	hook := PreCommit(func(_ context.Context, c Change) error { changes = append(changes, c); return nil })
	if err := r.Remove(ctx, "sub/./f", hook); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	if _, err := os.Lstat(filepath.Join(dir, "sub", "f")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("after Remove: %v; want gone", err)
	}
	if len(changes) != 1 || changes[0].Op != "remove" || changes[0].Name != "sub/f" || changes[0].Size != 4 {
		t.Errorf("PreCommit changes %+v; want one {Op remove, Name sub/f, Size 4}", changes)
	}

	err := r.Remove(ctx, "sub/f")
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), `"sub/f"`) {
		t.Errorf("Remove of a missing file: %v; want fs.ErrNotExist naming \"sub/f\"", err)
	}

	mustWrite(t, filepath.Join(dir, "kept"), "data", 0o644)
	refuse := errors.New("fenced")
	if err := r.Remove(ctx, "kept", PreCommit(func(context.Context, Change) error { return refuse })); !errors.Is(err, refuse) {
		t.Errorf("Remove with a refusing hook: %v; want the hook's error", err)
	}
	if got := readString(t, filepath.Join(dir, "kept")); got != "data" {
		t.Errorf("after a refused Remove: got %q; want the file kept", got)
	}

	if err := r.Remove(ctx, "../outside"); !errors.Is(err, ErrOutsideRoot) {
		t.Errorf("Remove outside the root: %v; want ErrOutsideRoot", err)
	}
}

// Remove settles a leftover in-place rewrite before it removes the file:
// marker and backup do not outlive it.
func TestRemoveSettlesInPlace(t *testing.T) {
	r, dir := openRoot(t)
	_, mRel, bRel := plantTornInPlace(t, dir)
	var restored int
	if err := r.Remove(context.Background(), "f", Observe(func(e Event) {
		if e.Step == "restore-inplace" {
			restored++
		}
	})); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	if restored != 1 {
		t.Errorf("restore-inplace events: %d; want 1", restored)
	}
	for _, p := range []string{"f", mRel, bRel} {
		if _, err := os.Lstat(filepath.Join(dir, p)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s after Remove: %v; want gone", p, err)
		}
	}
}

// plantTornInPlace leaves f in dir as an in-place rewrite that died midway:
// f torn, its backup holding the old content, and its marker. It returns the
// old content and the marker's and backup's names.
func plantTornInPlace(t *testing.T, dir string) (oldData []byte, mRel, bRel string) {
	t.Helper()
	oldData, newData := []byte("old content"), []byte("new")
	mRel, bRel = inPlaceNames("f")
	mustWrite(t, filepath.Join(dir, "f"), "new content", 0o644) // torn
	mustWrite(t, filepath.Join(dir, bRel), string(oldData), 0o600)
	in := inPlaceIntent{Target: "f", OldSize: int64(len(oldData)), OldSum: sha256.Sum256(oldData), NewSize: int64(len(newData)), NewSum: sha256.Sum256(newData)}
	mustWrite(t, filepath.Join(dir, mRel), string(in.encode()), 0o600)
	return oldData, mRel, bRel
}
