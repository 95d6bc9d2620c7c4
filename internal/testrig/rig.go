// Package testrig starts the real parts that sharedwrite's tests run against: a
// redis-server process (standalone, Cluster, Sentinel, TLS), tmpfs and bind
// mounts, a FUSE filesystem that injects faults, and two sshfs "hosts". Every
// rig is torn down by t.Cleanup, also when the test fails.
//
// A rig that cannot run here (no root, a binary missing) skips the test with the
// reason, or fails it when SHAREDWRITE_REQUIRE_RIGS=1 (CI sets it), so a CI run
// can never pass by skipping everything.
package testrig

import (
	"os"
	"os/exec"
	"testing"
)

// Required reports whether rigs are required (SHAREDWRITE_REQUIRE_RIGS=1).
func Required() bool { return os.Getenv("SHAREDWRITE_REQUIRE_RIGS") == "1" }

// Unavailable skips the test with reason, or fails it when rigs are required.
func Unavailable(t testing.TB, reason string) {
	t.Helper()
	if Required() {
		t.Fatalf("rig required (SHAREDWRITE_REQUIRE_RIGS=1) but unavailable: %s", reason)
	}
	t.Skip("rig unavailable: " + reason)
}

// NeedRoot skips (or fails, see Unavailable) unless the test runs as root.
func NeedRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		Unavailable(t, "needs root")
	}
}

// NeedBinary returns the path of the named program, or skips (or fails).
func NeedBinary(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Unavailable(t, name+" not found in PATH")
	}
	return p
}
