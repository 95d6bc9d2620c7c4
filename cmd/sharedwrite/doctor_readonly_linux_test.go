//go:build linux

package main

import (
	"strings"
	"testing"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
)

// When doctor cannot even create its probe directory (a read-only root), it
// reports that, and the probes it could not run as not probed (it reported
// them as failed guarantees: "temp on another device: EXDEV", "no
// create-only commit (link: ; ...)", "directory fsync refused ()", "file
// lock: ").
func TestDoctorReadOnlyRootClaimsOnlyWhatItProbed(t *testing.T) {
	src, ro := t.TempDir(), t.TempDir()
	testrig.ReadOnlyBind(t, src, ro)
	r := runCLI(t, nil, "", "--root", ro, "doctor")
	if r.code != 5 || !strings.Contains(r.stdout, "read-only file system") || !strings.Contains(r.stdout, "not probed") {
		t.Errorf("doctor on a read-only root: exit %d; want 5, naming EROFS and the probes not run:\n%s", r.code, r.stdout)
	}
	for _, bogus := range []string{"different devices", "EXDEV", "directory fsync refused", "no create-only commit"} {
		if strings.Contains(r.stdout, bogus) {
			t.Errorf("doctor on a read-only root claims %q, which it never probed:\n%s", bogus, r.stdout)
		}
	}
}
