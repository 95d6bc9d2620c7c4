//go:build unix

package writer

import (
	"os"
	"path/filepath"
	"testing"
)

// The rollback of a directory MkdirAll created removes it only while it is
// an empty directory: a file another program put in its place stays (as
// os.Root.Remove, which also unlinks files, would not leave it).
func TestRollbackDirsKeepsFileInDirectorysPlace(t *testing.T) {
	r, dir := openRoot(t)
	mustWrite(t, filepath.Join(dir, "a", "b"), "someone's data", 0o644)
	r.rollbackDirs([]string{"a", "a/b"}, newConfig(nil))
	if got := readString(t, filepath.Join(dir, "a", "b")); got != "someone's data" {
		t.Fatalf("a/b = %q", got)
	}
	// An empty directory it created is removed.
	if err := os.Remove(filepath.Join(dir, "a", "b")); err != nil {
		t.Fatal(err)
	}
	r.rollbackDirs([]string{"a"}, newConfig(nil))
	if _, err := os.Lstat(filepath.Join(dir, "a")); !os.IsNotExist(err) {
		t.Fatalf("a after its rollback: %v; want it removed", err)
	}
}
