package main

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestFailedCommandRemovesTheRootItCreated: in local mode, a command that
// fails on a --root it created removes that root again, and the parents it
// created with it, when the root holds nothing but the volume metadata its
// open made: no key was locked there. Directories that existed before stay.
func TestFailedCommandRemovesTheRootItCreated(t *testing.T) {
	spool := filepath.Join(t.TempDir(), "missing")
	for _, tc := range []struct {
		name string
		args []string
		code int
	}{
		{"write from a missing file", []string{"write", "a/b", "--from", spool}, 1},
		{"write of a name outside the root", []string{"write", "../f"}, 5},
		{"mkdir of a metadata name", []string{"mkdir", ".sharedwrite/d"}, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			top := t.TempDir()
			root := filepath.Join(top, "x", "new")
			r := runCLI(t, nil, "", append([]string{"--root", root}, tc.args...)...)
			if r.code != tc.code {
				t.Fatalf("exit %d, stderr %q; want %d", r.code, r.stderr, tc.code)
			}
			if _, err := os.Lstat(filepath.Join(top, "x")); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the parent the run created: Lstat = %v; want it removed", err)
			}
			if _, err := os.Lstat(top); err != nil {
				t.Errorf("the directory that existed before: %v; want it kept", err)
			}
		})
	}
}

// TestFailedCommandKeepsARootWithALockFile: a failed command whose root it
// created holds a lock file (the command locked its key) keeps the root: a
// lock file is never unlinked, as a process waiting for the lock holds it
// open; the root is removed only with nothing in it that was ever locked.
// And a root that existed before is kept.
func TestFailedCommandKeepsARootWithALockFile(t *testing.T) {
	t.Run("created", func(t *testing.T) {
		root := filepath.Join(t.TempDir(), "x", "new")
		r := runCLI(t, nil, "", "--root", root, "update", "f", "--", "false")
		if r.code != 8 {
			t.Fatalf("update whose command fails: exit %d, stderr %q; want 8", r.code, r.stderr)
		}
		locks, err := os.ReadDir(filepath.Join(root, ".sharedwrite", "locks"))
		if err != nil || len(locks) != 1 {
			t.Errorf("the locks directory: %d entries, err %v; want the root kept with its lock file", len(locks), err)
		}
	})
	t.Run("existing", func(t *testing.T) {
		root := t.TempDir()
		r := runCLI(t, nil, "", "--root", root, "write", "f", "--from", filepath.Join(root, "missing"))
		if r.code != 1 {
			t.Fatalf("write from a missing file: exit %d, stderr %q; want 1", r.code, r.stderr)
		}
		if _, err := os.Stat(filepath.Join(root, ".sharedwrite", "volume-id")); err != nil {
			t.Errorf("the volume of a root that existed before: %v; want it kept", err)
		}
	})
}

// TestMissingRootThroughSymlinkAndDotDot: a missing --root spelled with a
// ".." after a symlink is read as spelled (as a shell's cd reads it), by the
// command that creates it and by the volume it opens alike: the write lands
// in the directory the spelling names, and nothing is made at the symlink
// target's parent.
func TestMissingRootThroughSymlinkAndDotDot(t *testing.T) {
	top := t.TempDir()
	if err := os.MkdirAll(filepath.Join(top, "elsewhere", "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(top, "elsewhere", "sub"), filepath.Join(top, "link")); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(top, "link") + "/../vol"
	r := runCLI(t, nil, "hi", "--root", root, "write", "f", "--from", "-")
	if r.code != 0 {
		t.Fatalf("write on %s: exit %d, stderr %q; want 0", root, r.code, r.stderr)
	}
	if got, err := os.ReadFile(filepath.Join(top, "vol", "f")); err != nil || string(got) != "hi" {
		t.Errorf("the file in the root as spelled: %q, %v; want %q", got, err, "hi")
	}
	if _, err := os.Lstat(filepath.Join(top, "elsewhere", "vol")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s: Lstat = %v; want nothing made there", filepath.Join(top, "elsewhere", "vol"), err)
	}
}
