//go:build linux

package main

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
	"github.com/sharedwrite/sharedwrite/internal/testrig/faultfs"
)

// A mount made over a parent of an older mount hides it: the path that led
// to the older one now leads into the newer filesystem. doctor on a
// directory of a FUSE mount made over the parent of a tmpfs mount describes
// the FUSE filesystem (locks local to the mount: local mode refused, exit
// 5), not the hidden tmpfs whose mount point is the longer prefix of the
// path (it reported a tmpfs, locks seen by every process of the host, and
// verdict ok).
func TestDoctorDescribesTheMountOverAHiddenOne(t *testing.T) {
	testrig.NeedRoot(t)
	parent := t.TempDir()
	hidden := filepath.Join(parent, "v")
	if err := os.Mkdir(hidden, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("tmpfs", hidden, "tmpfs", 0, "size=1m"); err != nil {
		testrig.Unavailable(t, "mount tmpfs on "+hidden+": "+err.Error())
	}
	t.Cleanup(func() { testrig.Unmount(t, hidden) })

	f := faultfs.Mount(t, faultfs.Options{})
	if err := os.Mkdir(filepath.Join(f.Backing, "v"), 0o755); err != nil {
		t.Fatal(err)
	}
	testrig.BindMount(t, f.Dir, parent)
	var st unix.Statfs_t
	if err := unix.Statfs(hidden, &st); err != nil || st.Type != unix.FUSE_SUPER_MAGIC {
		t.Fatalf("precondition: statfs %s: type %#x, %v; want the FUSE mount over its parent", hidden, st.Type, err)
	}

	r := volume{mode: mode{name: "local"}, root: hidden}.run(t, "", "doctor", "--json")
	d := parseDoctor(t, r)
	if d.FS.Type != "fuse.faultfs" || d.LockScope != "mount" || r.code != 5 {
		t.Errorf("doctor on %s (a FUSE mount over a hidden tmpfs), local mode: fs %q, lock scope %q, exit %d; want fuse.faultfs, mount, exit 5\n%s",
			hidden, d.FS.Type, d.LockScope, r.code, r.stdout)
	}
}
