//go:build linux

package writer

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
	"github.com/sharedwrite/sharedwrite/internal/testrig/faultfs"
)

// On a filesystem that keeps no extended attributes (as sshfs), a write does
// not open the file it replaces to copy them: on a network filesystem that
// open is a round trip to the server for nothing. The file keeps its mode.
func TestWriteOnFilesystemWithoutXattrsDoesNotOpenTarget(t *testing.T) {
	mnt := faultfs.Mount(t, faultfs.Options{NoXattrs: true})
	dst := filepath.Join(mnt.Dir, "f")
	mustWrite(t, dst, "old", 0o640)
	if err := os.Chmod(dst, 0o640); err != nil {
		t.Fatal(err)
	}
	if _, err := unix.Listxattr(dst, nil); !errors.Is(err, unix.EOPNOTSUPP) {
		testrig.Unavailable(t, "a FUSE mount that keeps no extended attributes: listxattr gave "+errString(err))
	}
	var mu sync.Mutex
	opened := 0
	mnt.Set(faultfs.Fault{Op: faultfs.OpOpen, Match: func(rel string) bool {
		if rel == "f" {
			mu.Lock()
			opened++
			mu.Unlock()
		}
		return false // observed, not failed
	}})
	t.Cleanup(mnt.Clear)

	r, err := Open(mnt.Dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := r.WriteFile(context.Background(), "f", []byte("new"), 0o644); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	n := opened
	mu.Unlock()
	if n != 0 {
		t.Errorf("opens of the replaced file during the write: %d; want 0", n)
	}
	if got, err := os.ReadFile(filepath.Join(mnt.Backing, "f")); err != nil || string(got) != "new" {
		t.Fatalf("content: %q, %v; want %q", got, err, "new")
	}
	if fi, err := os.Stat(dst); err != nil || fi.Mode() != 0o640 {
		t.Errorf("mode after the write: %v, %v; want %v", fi.Mode(), err, os.FileMode(0o640))
	}
}

func errString(err error) string {
	if err == nil {
		return "no error"
	}
	return err.Error()
}
