//go:build linux

package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/sharedwrite/sharedwrite/internal/testrig/faultfs"
)

// When the volume refuses to remove doctor's probe files (unlink fails with
// EACCES), doctor names each file it leaves behind, with the step and the
// errno, among the problems of its report. It said nothing: the files stayed
// in .sharedwrite/doctor and the report read as if the volume had been left
// as found.
func TestDoctorNamesProbeFilesItCouldNotRemove(t *testing.T) {
	f := faultfs.Mount(t, faultfs.Options{Locks: true})
	f.Set(faultfs.Fault{Op: faultfs.OpUnlink, Errno: syscall.EACCES, Glob: "probe.*"})
	r := volume{mode: mode{name: "local"}, root: f.Dir}.run(t, "", "doctor", "--json")
	d := parseDoctor(t, r)
	if f.Injected(faultfs.OpUnlink) == 0 {
		t.Fatalf("no unlink of a probe file was refused: the fault was not injected")
	}
	f.Clear()
	left, err := filepath.Glob(filepath.Join(f.Backing, ".sharedwrite", "doctor", "probe.*"))
	if err != nil || len(left) == 0 {
		t.Fatalf("probe files left: %q, %v; want the ones whose removal was refused", left, err)
	}
	problems := strings.Join(d.Problems, "\n")
	for _, p := range left {
		name := filepath.Base(p)
		found := false
		for _, pr := range d.Problems {
			if strings.Contains(pr, "clean up") && strings.Contains(pr, name) && strings.Contains(pr, "permission denied") {
				found = true
			}
		}
		if !found {
			t.Errorf("%s left behind; doctor's problems do not name its removal refused (EACCES):\n%s", name, problems)
		}
	}
	for _, p := range left {
		os.Remove(p)
	}
}
