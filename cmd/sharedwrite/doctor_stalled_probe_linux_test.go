//go:build linux

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/testrig/faultfs"
)

// A write-path probe that does not answer within --timeout (here: the fsync
// of its first probe file) ends doctor with exit 3, naming the probe; the
// probe files it made by then stay on the volume (no clean-up is tried on a
// volume that does not answer), and the message names them as left behind,
// as it does when the volume stops answering later. It said nothing of them.
func TestDoctorStalledProbeNamesWhatItLeaves(t *testing.T) {
	f := faultfs.Mount(t, faultfs.Options{})
	f.Set(faultfs.Fault{Op: faultfs.OpFsync, Delay: 2500 * time.Millisecond, Count: 1})
	v := volume{mode: mode{name: "local"}, root: f.Dir}
	s := v.start(t, "--timeout", "1s", "doctor")
	code := s.wait(t, 30*time.Second)
	stderr := s.errb.String()
	if f.Count(faultfs.OpFsync) == 0 {
		t.Fatalf("no fsync reached the filesystem: the fault was not injected (exit %d, stderr %q)", code, stderr)
	}
	// The stalled fsync returns in the daemon once its delay is over; what
	// doctor made is then on the backing directory for good.
	var left []string
	deadline := time.Now().Add(5 * time.Second)
	for len(left) == 0 && time.Now().Before(deadline) {
		left, _ = filepath.Glob(filepath.Join(f.Backing, ".sharedwrite", "doctor", "probe.*"))
		time.Sleep(50 * time.Millisecond)
	}
	t.Cleanup(func() { os.RemoveAll(filepath.Join(f.Backing, ".sharedwrite")) })
	if code != 3 || !strings.Contains(stderr, "did not answer") {
		t.Fatalf("doctor with an fsync slower than --timeout: exit %d, stderr %q; want 3, the volume did not answer", code, stderr)
	}
	if len(left) == 0 {
		t.Fatalf("no probe file left in %s: nothing to name (precondition)", f.Backing)
	}
	if !strings.Contains(stderr, "left behind") || !strings.Contains(stderr, `".sharedwrite/doctor"`) {
		t.Errorf("doctor gave up on a stalled probe and left %q; stderr %q does not name %q as left behind", left, stderr, ".sharedwrite/doctor")
	}
}
