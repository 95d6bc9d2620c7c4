//go:build linux

package writer

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/sharedwrite/sharedwrite/internal/testrig/faultfs"
)

// faultRoot opens a Root at a directory "root" of a new fault filesystem,
// closed on cleanup.
func faultRoot(t *testing.T) (*faultfs.FS, string, *Root) {
	t.Helper()
	ffs := faultfs.Mount(t, faultfs.Options{})
	rootDir := filepath.Join(ffs.Dir, "root")
	if err := os.Mkdir(rootDir, 0o755); err != nil {
		t.Fatal(err)
	}
	r, err := Open(rootDir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return ffs, rootDir, r
}

// A Move interrupted after its commit (dst holds the copy, the source and
// its intent are still there) may have created dst's parent directories and
// stopped before their entries were fsynced. The Move that finishes it
// removes the source only once the whole path to dst is durable: a refused
// fsync of an ancestor keeps the source and its intent, and says so.
func TestMoveResumeSyncsDestinationAncestorsBeforeUnlinkingSource(t *testing.T) {
	ffs, rootDir, r := faultRoot(t)
	src := filepath.Join(t.TempDir(), "f") // another device: the copy path
	sum := randomFile(t, src, 64<<10, 0o600)
	fi, err := os.Stat(src)
	if err != nil {
		t.Fatal(err)
	}
	in := newMoveIntent(src, r.Dir(), "a/b/f", fi)
	in.SHA256 = hexSum(sum)
	if err := writeMoveIntent(&config{}, src, in); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(rootDir, "a/b/f")
	mustWrite(t, dst, string(b), 0o600)
	if err := os.Chtimes(dst, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}

	// The fsync of the root's directory "a" (holding the entry "b") fails.
	ffs.Set(faultfs.Fault{Op: faultfs.OpFsyncDir, Errno: syscall.EIO, Glob: "root/a"})
	err = r.Move(context.Background(), src, "a/b/f")
	if !errors.Is(err, ErrDurabilityUnconfirmed) || !errors.Is(err, syscall.EIO) {
		t.Fatalf("Move finishing an interrupted one, with the fsync of a/ failing: %v; want ErrDurabilityUnconfirmed and EIO", err)
	}
	if _, err := os.Lstat(src); err != nil {
		t.Errorf("source after the refused fsync: %v; want it kept", err)
	}
	if _, err := os.Lstat(moveIntentPath(src)); err != nil {
		t.Errorf("intent after the refused fsync: %v; want it kept", err)
	}

	// Once the volume accepts the fsyncs, the next Move finishes it.
	ffs.Set()
	if err := r.Move(context.Background(), src, "a/b/f"); err != nil {
		t.Fatalf("Move once fsyncs succeed: %v", err)
	}
	checkMoved(t, rootDir, src, "a/b/f", sum, 0o600, fi.ModTime())
}
