//go:build linux

package coordinator

import (
	"path"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/testrig/faultfs"
)

// TestRotatedFilesSkipsUnstatable: a rotated name whose stat fails (EACCES,
// as for a stray entry; ESTALE on NFS) is left out of the listing, with a
// warning; the other rotated files are still listed.
func TestRotatedFilesSkipsUnstatable(t *testing.T) {
	mnt := faultfs.Mount(t, faultfs.Options{})
	c := open(t, local, mnt.Dir)
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	stray, kept := rotatedName("app.log", t0, 1), rotatedName("app.log", t0.Add(time.Second), 2)
	mustWrite(t, filepath.Join(mnt.Backing, stray), "a\n")
	mustWrite(t, filepath.Join(mnt.Backing, kept), "b\n")
	mnt.Set(faultfs.Fault{Op: faultfs.OpLookup, Glob: path.Base(stray), Errno: syscall.EACCES})
	files, err := c.RotatedFiles("app.log")
	mnt.Clear()
	if err != nil {
		t.Fatalf("RotatedFiles = %v; want the stat'able ones listed", err)
	}
	if len(files) != 1 || files[0].Name != kept {
		t.Errorf("RotatedFiles = %+v; want only %s", files, kept)
	}
	if mnt.Injected(faultfs.OpLookup) == 0 {
		t.Error("no lookup was refused")
	}
}
