//go:build linux

package writer

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
)

// A synced temp commits with the metadata the target has at Commit: a mode
// changed between Sync and Commit is the one the new content gets.
func TestSyncThenCommitKeepsCurrentMode(t *testing.T) {
	r, dir := openRoot(t)
	ctx := context.Background()
	target := filepath.Join(dir, "f")
	mustWrite(t, target, "old", 0o644)

	f, err := r.Create(ctx, "f", 0o666, BeforeLock())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("new")); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatalf("Sync: %v", err)
	}
	if err := os.Chmod(target, 0o640); err != nil {
		t.Fatal(err)
	}
	if err := f.Commit(ctx); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	if got := readString(t, target); got != "new" {
		t.Errorf("content %q; want %q", got, "new")
	}
	fi, err := os.Stat(target)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o640 {
		t.Errorf("mode %v; want 0640 (the target's mode at Commit, not at Sync)", fi.Mode().Perm())
	}
	noTemps(t, dir)
}

// A write after Sync is part of the commit, and a new file gets perm minus
// the umask as without Sync.
func TestWriteAfterSync(t *testing.T) {
	r, dir := openRoot(t)
	ctx := context.Background()
	f, err := r.Create(ctx, "n", 0o640)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"one ", "two"} {
		if _, err := f.Write([]byte(s)); err != nil {
			t.Fatal(err)
		}
		if s == "one " {
			if err := f.Sync(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := f.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if got := readString(t, filepath.Join(dir, "n")); got != "one two" {
		t.Errorf("content %q; want %q", got, "one two")
	}
	fi, _ := os.Stat(filepath.Join(dir, "n"))
	if want := fs.FileMode(0o640) &^ fs.FileMode(umask()); fi.Mode().Perm() != want {
		t.Errorf("mode %v; want %v", fi.Mode().Perm(), want)
	}
	if err := f.Sync(); err == nil {
		t.Error("Sync after Commit: nil error")
	}
}

// BeforeLock leaves an interrupted in-place rewrite to Commit: Create does
// not touch it (the caller does not hold the lock yet), Commit settles it
// before the new content replaces the target.
func TestBeforeLockSettlesAtCommit(t *testing.T) {
	r, dir := openRoot(t)
	ctx := context.Background()
	target := filepath.Join(dir, "f")
	oldData := []byte("old content")
	plantInPlace(t, r, dir, "f", oldData, []byte("new content"), []byte("new conte"), nil) // torn
	mRel, _ := inPlaceNames("f")

	var seen string // the target when the commit's hook runs
	hook := PreCommit(func(ctx context.Context, c Change) error {
		seen = readString(t, target)
		return nil
	})
	f, err := r.Create(ctx, "f", 0o644, BeforeLock(), hook)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(dir, mRel)); err != nil {
		t.Fatalf("marker after Create(BeforeLock): %v; want it left for Commit", err)
	}
	if got := readString(t, target); got != "new conte" {
		t.Fatalf("target after Create(BeforeLock): %q; want it untouched", got)
	}
	if _, err := f.Write([]byte("third")); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := f.Commit(ctx); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	if seen != string(oldData) {
		t.Errorf("target before the rename: %q; want it restored to %q", seen, oldData)
	}
	if got := readString(t, target); got != "third" {
		t.Errorf("content %q; want %q", got, "third")
	}
	noInPlaceLeftovers(t, dir, "f")
	noTemps(t, dir)
}

// Under BeforeLock, Create makes no directory: the lock's holder does that.
func TestBeforeLockCreatesNoDirectory(t *testing.T) {
	r, dir := openRoot(t)
	_, err := r.Create(context.Background(), "new/sub/f", 0o644, BeforeLock())
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Create(BeforeLock) under a missing directory: %v; want an error wrapping fs.ErrNotExist", err)
	}
	if _, err := os.Lstat(filepath.Join(dir, "new")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Lstat(new) = %v; want it not created", err)
	}
}

// A target removed between Sync and Commit: the new file is a new file, with
// this process's owner and the current times, not those Sync copied.
func TestSyncTargetRemovedBeforeCommit(t *testing.T) {
	testrig.NeedRoot(t)
	r, dir := openRoot(t)
	ctx := context.Background()
	target := filepath.Join(dir, "f")
	mustWrite(t, target, "old", 0o644)
	if err := os.Chown(target, 12345, 12345); err != nil {
		t.Fatal(err)
	}
	past := time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := os.Chtimes(target, past, past); err != nil {
		t.Fatal(err)
	}
	f, err := r.Create(ctx, "f", 0o644, BeforeLock(), KeepMtime())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("new")); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(target); err != nil {
		t.Fatal(err)
	}
	if err := f.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(target)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	if int(st.Uid) != os.Getuid() || st.Uid == 12345 || st.Gid == 12345 {
		t.Errorf("owner %d:%d; want this process's, not the removed target's 12345:12345", st.Uid, st.Gid)
	}
	if fi.ModTime().Before(time.Now().Add(-time.Hour)) {
		t.Errorf("mtime %v; want now, not the removed target's", fi.ModTime())
	}
}
