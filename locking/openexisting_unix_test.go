//go:build unix

package locking

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// OpenExisting never creates the lock file: a missing one is fs.ErrNotExist
// and stays missing; an existing one opens with its record.
func TestOpenExisting(t *testing.T) {
	dir := t.TempDir()
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	d, err := OpenLockDir(root)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()

	fl, err := d.OpenExisting("k")
	if err == nil {
		fl.Close()
		t.Fatal("OpenExisting of a key never locked = nil error; want fs.ErrNotExist")
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("OpenExisting of a key never locked: got %v; want an error wrapping fs.ErrNotExist", err)
	}
	if _, serr := os.Lstat(filepath.Join(dir, LockPath("k"))); !errors.Is(serr, fs.ErrNotExist) {
		t.Fatalf("lock file after OpenExisting: got %v; want none", serr)
	}

	w, err := d.Open("k")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := w.Lock(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteCommitted(Version{Token: 7}); err != nil {
		t.Fatal(err)
	}
	r, err := d.OpenExisting("k")
	if err != nil {
		t.Fatalf("OpenExisting of a locked key: %v", err)
	}
	defer r.Close()
	rec, err := r.ReadRecord()
	if err != nil {
		t.Fatal(err)
	}
	if rec.Committed.Token != 7 {
		t.Errorf("record through OpenExisting: committed token %d; want 7", rec.Committed.Token)
	}
}

// plantedLock puts something other than a lock file at a lock file's name.
type plantedLock struct {
	name  string
	plant func(t *testing.T, lock string)
}

// plantedLocks are the things a planted lock file may be: a symlink to
// outside, a FIFO, a hard link of outside.
func plantedLocks(outside string) []plantedLock {
	return []plantedLock{
		{"symlink to outside", func(t *testing.T, lock string) { mustSymlink(t, outside, lock) }},
		{"fifo", func(t *testing.T, lock string) {
			if err := syscall.Mkfifo(lock, 0o600); err != nil {
				t.Skip("mkfifo:", err)
			}
		}},
		{"hard link", func(t *testing.T, lock string) {
			if err := os.Link(outside, lock); err != nil {
				t.Skip("link across the two temp directories:", err)
			}
		}},
	}
}

// OpenExisting keeps Open's checks: a planted symlink, FIFO or hard link in
// place of the lock file is refused, and is not taken for a missing file.
func TestOpenExistingRefusesPlanted(t *testing.T) {
	outside := filepath.Join(t.TempDir(), "victim")
	if err := os.WriteFile(outside, []byte("outside"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range plantedLocks(outside) {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			mustMkdir(t, filepath.Join(dir, LocksDir))
			tc.plant(t, filepath.Join(dir, LockPath("k")))
			root, err := os.OpenRoot(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer root.Close()
			d, err := OpenLockDir(root)
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			fl, err := d.OpenExisting("k")
			if err == nil {
				fl.Close()
				t.Fatalf("OpenExisting through a planted %s = nil error; want refused", tc.name)
			}
			if errors.Is(err, fs.ErrNotExist) {
				t.Errorf("OpenExisting through a planted %s: got %v; want a refusal, not fs.ErrNotExist", tc.name, err)
			}
		})
	}
}
