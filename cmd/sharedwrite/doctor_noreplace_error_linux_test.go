//go:build linux

package main

import (
	"strings"
	"syscall"
	"testing"

	"github.com/sharedwrite/sharedwrite/internal/testrig/faultfs"
)

// A filesystem that refuses renameat2(RENAME_NOREPLACE) (EINVAL, as FUSE
// daemons without it do) gets a create-only row that names the call, the
// files and the errno, as the link(2) refusal beside it does. It said only
// "refused: invalid argument".
func TestDoctorRenameNoReplaceRefusalNamesCallAndPath(t *testing.T) {
	f := faultfs.Mount(t, faultfs.Options{Locks: true})
	// The first renames are the temp + rename rounds; the next is RENAME_NOREPLACE.
	f.Set(faultfs.Fault{Op: faultfs.OpRename, Errno: syscall.EINVAL, Skip: 5})
	r := volume{mode: mode{name: "local"}, root: f.Dir}.run(t, "", "doctor", "--json")
	d := parseDoctor(t, r)
	if f.Injected(faultfs.OpRename) == 0 {
		t.Fatalf("no rename was refused: the fault was not injected (probe %+v)", d.Probe)
	}
	nr := d.Probe.NoReplace
	for _, want := range []string{"renameat2", ".sharedwrite/doctor/probe.", "src", "invalid argument"} {
		if !strings.Contains(nr, want) {
			t.Errorf("RENAME_NOREPLACE refused with EINVAL: row %q; want it to name %q", nr, want)
		}
	}
	if d.Probe.Link != "ok" {
		t.Errorf("link(2): %q; want ok (only renames were refused)", d.Probe.Link)
	}
}
