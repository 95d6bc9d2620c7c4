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

// TestReadStaleViewPastTimeoutExitsNotInTime: on a FUSE volume (whose cache
// times are unknown, so its stale-view window is 30 s) a file that matches no
// recorded version may still be a lagging cache. When --timeout ends the
// re-reads before the window does, read and update give up as "not in time"
// (exit 3, as --timeout promises for the fresh read), print nothing and
// commit nothing; with a --timeout that holds the window they would adopt it.
func TestReadStaleViewPastTimeoutExitsNotInTime(t *testing.T) {
	f := faultfs.Mount(t, faultfs.Options{})
	v := volume{mode: mode{name: "local"}, root: f.Dir}
	if r := v.run(t, "recorded\n", "write", "f"); r.code != 0 {
		t.Fatalf("write: exit %d: %s", r.code, r.stderr)
	}
	// What a lagging cache could show as well as an outside edit.
	if err := os.WriteFile(filepath.Join(f.Backing, "f"), []byte("unrecorded\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"read", "f"}, {"update", "f", "--", "cat"}} {
		r := v.run(t, "", append([]string{"--timeout", "2s"}, args...)...)
		if r.code != 3 || r.stdout != "" || !strings.Contains(r.stderr, `"f"`) || !strings.Contains(r.stderr, "stale") {
			t.Errorf("%v, the stale-view window cut short by --timeout 2s: exit %d, stdout %q, stderr %q; want exit 3, no output, a message naming \"f\" and the stale view",
				args, r.code, r.stdout, r.stderr)
		}
		if r.took > 15*time.Second {
			t.Errorf("%v with --timeout 2s took %v", args, r.took.Round(time.Millisecond))
		}
	}
	if got := readAll(t, filepath.Join(f.Backing, "f")); got != "unrecorded\n" {
		t.Errorf("f = %q after the refused update; want it unchanged", got)
	}
}
