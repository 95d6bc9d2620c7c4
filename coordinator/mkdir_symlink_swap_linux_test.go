//go:build linux

package coordinator

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/testrig/faultfs"
)

// TestMkdirAllActsOnCheckedPath: the symlink a -> x inside the root is
// replaced by a -> .sharedwrite right after MkdirAll has resolved "a/b" to
// "x/b" and checked that it is no metadata name. The directory made is the
// one checked, x/b; nothing is made under .sharedwrite.
func TestMkdirAllActsOnCheckedPath(t *testing.T) {
	mnt := faultfs.Mount(t, faultfs.Options{Locks: true})
	c := open(t, local, mnt.Dir)
	ctx := ctxT(t, time.Minute)
	if err := os.Mkdir(filepath.Join(mnt.Backing, "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(mnt.Backing, "a")
	if err := os.Symlink("x", link); err != nil {
		t.Fatal(err)
	}
	swapped := false
	// Match runs in the mount's goroutines before each lookup of x/b: the
	// first one is the check's, which finds it missing (the end of the
	// resolution of "a/b"); the link is swapped in the backing directory
	// before that lookup is answered.
	mnt.Set(faultfs.Fault{Op: faultfs.OpLookup, Glob: "x/b", Match: func(string) bool {
		if !swapped {
			swapped = true
			if err := os.Remove(link); err != nil {
				t.Error(err)
			}
			if err := os.Symlink(".sharedwrite", link); err != nil {
				t.Error(err)
			}
		}
		return false
	}})
	err := c.MkdirAll(ctx, "a/b", 0o755)
	mnt.Clear()
	if !swapped {
		t.Fatalf("MkdirAll = %v; x/b was never looked up", err)
	}
	if err != nil {
		t.Errorf("MkdirAll(a/b) = %v; want nil", err)
	}
	if _, err := os.Lstat(filepath.Join(mnt.Backing, ".sharedwrite", "b")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf(".sharedwrite/b: Lstat = %v; want it missing (made through the swapped link)", err)
	}
	if fi, err := os.Lstat(filepath.Join(mnt.Backing, "x", "b")); err != nil || !fi.IsDir() {
		t.Errorf("x/b: Lstat = %v; want the directory checked made", err)
	}
}
