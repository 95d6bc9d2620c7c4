//go:build linux

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
)

// TestAppendToANewLogOnAFullVolumeLeavesNoLog: `append` of a log that does
// not exist yet, on a full volume, fails (exit 1) naming the step, the lock
// file and ENOSPC, and leaves neither the log nor the directories made for
// it; once space is freed the same append succeeds. Before, an empty log and
// its directories stayed behind a command that said nothing was committed.
func TestAppendToANewLogOnAFullVolumeLeavesNoLog(t *testing.T) {
	for _, m := range modes(t) {
		t.Run(m.name, func(t *testing.T) {
			v := volume{mode: m, root: testrig.Tmpfs(t, "256k")}
			if m.redis != "" {
				if r := v.run(t, "", "init-volume"); r.code != 0 {
					t.Fatalf("init-volume: exit %d: %s", r.code, r.stderr)
				}
			}
			if r := v.run(t, "x\n", "write", "x"); r.code != 0 { // the volume in use
				t.Fatalf("write: exit %d: %s", r.code, r.stderr)
			}
			filler := testrig.Fill(t, v.root, 0)
			r := v.run(t, "line\n", "append", "logs/day/app.log")
			if r.code != 1 || !strings.Contains(r.stderr, "no space left on device") ||
				!strings.Contains(r.stderr, "commit the starting length") || !strings.Contains(r.stderr, ".sharedwrite/locks/") {
				t.Fatalf("append on a full volume: exit %d, %q; want 1 naming the step, the lock file and ENOSPC", r.code, r.stderr)
			}
			if _, err := os.Lstat(filepath.Join(v.root, "logs")); !os.IsNotExist(err) {
				t.Errorf("after the failed append, logs/: %v; want it absent (nothing was committed)", err)
			}
			if err := os.Remove(filler); err != nil {
				t.Fatal(err)
			}
			if r := v.run(t, "line\n", "append", "logs/day/app.log"); r.code != 0 {
				t.Fatalf("append once space is freed: exit %d: %s", r.code, r.stderr)
			}
			if got, err := os.ReadFile(filepath.Join(v.root, "logs/day/app.log")); err != nil || string(got) != "line\n" {
				t.Errorf("log = %q, %v; want %q", got, err, "line\n")
			}
		})
	}
}
