//go:build linux

package locking

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
)

// On a read-only mount of a volume with no locks directory (a Redis-mode
// volume an older init-volume made, no writer opened since), OpenLockDir
// opens, creating nothing: OpenExisting finds no lock file
// (fs.ErrNotExist), and Open and Turn fail with EROFS. Once a writer has
// made the directory and a record, the same LockDir reads that record.
func TestOpenLockDirReadOnlyMountWithoutLocksDir(t *testing.T) {
	rw, ro := t.TempDir(), t.TempDir()
	mustMkdir(t, filepath.Join(rw, StateDir))
	testrig.ReadOnlyBind(t, rw, ro)
	d := openLockDirAt(t, ro)

	if fl, err := d.OpenExisting("k"); !errors.Is(err, fs.ErrNotExist) {
		if err == nil {
			fl.Close()
		}
		t.Errorf("OpenExisting with no locks directory, on a read-only mount: got %v; want fs.ErrNotExist", err)
	}
	if fl, err := d.Open("k"); !errors.Is(err, syscall.EROFS) {
		if err == nil {
			fl.Close()
		}
		t.Errorf("Open with no locks directory, on a read-only mount: got %v; want an error wrapping EROFS", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if tl, err := d.Turn(ctx, "k", "scope"); !errors.Is(err, syscall.EROFS) {
		if err == nil {
			tl.End()
		}
		t.Errorf("Turn with no locks directory, on a read-only mount: got %v; want an error wrapping EROFS", err)
	}
	if ok, err := d.Handed("k", "scope", "child"); ok || err != nil {
		t.Errorf("Handed with no locks directory, on a read-only mount: got %v, %v; want false, nil", ok, err)
	}
	if _, err := os.Lstat(filepath.Join(rw, LocksDir)); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("%s after opens through the read-only mount: %v; want it still missing", LocksDir, err)
	}

	writeRecord(t, rw, "k", 7)
	fl, err := d.OpenExisting("k")
	if err != nil {
		t.Fatalf("OpenExisting once a writer made the locks directory: %v", err)
	}
	defer fl.Close()
	if rec, err := fl.ReadRecord(); err != nil || rec.Committed.Token != 7 {
		t.Errorf("record read once a writer made the locks directory: committed token %d, %v; want 7", rec.Committed.Token, err)
	}
	if err := d.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}
