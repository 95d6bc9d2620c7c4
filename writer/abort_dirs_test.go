package writer

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// After a Commit that failed, Abort removes the directories Create made that
// could not be removed then because another File's temp was in them.
func TestAbortAfterFailedCommitRemovesDirsEmptiedSince(t *testing.T) {
	r, dir := openRoot(t)
	ctx := context.Background()
	a, err := r.Create(ctx, "a/x", 0o644) // makes a
	if err != nil {
		t.Fatal(err)
	}
	b, err := r.Create(ctx, "a/y", 0o644) // its temp is in a
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "a", "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := a.Commit(ctx); !errors.Is(err, ErrNotRegular) {
		t.Fatalf("Commit onto a directory = %v; want ErrNotRegular", err)
	}
	if err := os.Remove(filepath.Join(dir, "a", "x")); err != nil {
		t.Fatal(err)
	}
	if err := b.Abort(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "a")); err != nil {
		t.Fatalf("a: %v; want it there until a's File is aborted (b did not make it)", err)
	}
	if err := a.Abort(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "a")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a after Abort: %v; want it removed", err)
	}
}
