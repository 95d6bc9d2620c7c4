package durable

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/sharedwrite/sharedwrite/internal/testrig/faultfs"
)

// On a FUSE mount, which sees whether a request came from fsync(2) or
// fdatasync(2): SyncData asks for the data only, os.File.Sync for all of it,
// and a refused SyncData names the call, the file and the errno.
func TestSyncAndSyncData(t *testing.T) {
	fsys := faultfs.Mount(t, faultfs.Options{})
	f, err := os.Create(filepath.Join(fsys.Dir, "rec"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt([]byte("record"), 0); err != nil {
		t.Fatal(err)
	}
	before := fsys.Count(faultfs.OpFsync)
	if err := SyncData(f); err != nil {
		t.Fatal(err)
	}
	if n := fsys.DataSyncs("rec"); n != 1 || fsys.Count(faultfs.OpFsync) != before+1 {
		t.Fatalf("after SyncData: %d data-only syncs, %d syncs; want 1 and 1", n, fsys.Count(faultfs.OpFsync)-before)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	if n := fsys.DataSyncs("rec"); n != 1 || fsys.Count(faultfs.OpFsync) != before+2 {
		t.Fatalf("after Sync: %d data-only syncs, %d syncs; want 1 and 2", n, fsys.Count(faultfs.OpFsync)-before)
	}
	fsys.Set(faultfs.Fault{Op: faultfs.OpFsync, Glob: "rec", Errno: syscall.EIO})
	err = SyncData(f)
	if !errors.Is(err, syscall.EIO) || !strings.Contains(err.Error(), "fdatasync") || !strings.Contains(err.Error(), f.Name()) {
		t.Fatalf("SyncData refused with EIO: %v; want an error naming fdatasync, %s and EIO", err, f.Name())
	}
}
