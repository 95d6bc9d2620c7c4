//go:build linux

package main

import (
	"strings"
	"testing"
)

// A process that runs out of descriptors while it opens the volume says so
// (EMFILE, exit 1): it does not call the volume bad (exit 5), which would
// send its user to repair a volume that is fine. Where the descriptors run out
// depends on the limit, so several are tried; the volume reads back intact.
func TestOutOfDescriptorsNotBadVolume(t *testing.T) {
	v := newVolume(t, mode{name: "local"})
	if r := v.run(t, "x\n", "write", "x"); r.code != 0 {
		t.Fatalf("write: exit %d: %s", r.code, r.stderr)
	}
	ran := 0
	for n := 6; n <= 14; n++ {
		code, stderr := runLimited(t, n, "y\n", v.args("write", "x")...)
		t.Logf("ulimit -n %d: exit %d %s", n, code, strings.TrimSpace(stderr))
		if code == 5 || strings.Contains(stderr, "bad volume") {
			t.Errorf("ulimit -n %d: exit %d, %q; want exit 1 naming EMFILE, not a bad volume", n, code, stderr)
		}
		if strings.Contains(stderr, "too many open files") {
			ran++
			if code != 1 {
				t.Errorf("ulimit -n %d: out of descriptors, exit %d; want 1", n, code)
			}
		}
	}
	if ran == 0 {
		t.Fatal("no limit tried ran out of descriptors: nothing was checked")
	}
	if r := v.run(t, "", "read", "x"); r.code != 0 || (r.stdout != "x\n" && r.stdout != "y\n") {
		t.Errorf("read after: exit %d, %q: %s", r.code, r.stdout, r.stderr)
	}
}
