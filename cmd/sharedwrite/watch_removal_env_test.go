package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestWatchCmdRemovalSize: for a version that removed NAME, `watch -- CMD`
// gives CMD an empty stdin, SHAREDWRITE_DELETED=1 and SHAREDWRITE_SIZE=0
// (the size of what it gets), not the removed file's size.
func TestWatchCmdRemovalSize(t *testing.T) {
	v := newVolume(t, mode{name: "local"})
	if r := v.run(t, "hello!\n", "write", "cfg"); r.code != 0 {
		t.Fatalf("write: exit %d: %s", r.code, r.stderr)
	}
	out := filepath.Join(t.TempDir(), "out")
	// --initial: CMD's line for the version current at start shows that
	// watch has set its starting point, so that the removal is newer.
	w := v.start(t, "--timeout", "0", "watch", "cfg", "--initial", "--interval", "100ms", "--",
		"sh", "-c", `echo "$SHAREDWRITE_DELETED $SHAREDWRITE_SIZE $(wc -c)" >>"$0"`, out)
	// lines waits until CMD has written n lines and returns them.
	lines := func(n int, what string) []string {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			b, _ := os.ReadFile(out)
			got := strings.Split(strings.TrimSpace(string(b)), "\n")
			if len(b) == 0 {
				got = nil
			}
			if len(got) >= n {
				return got
			}
			if time.Now().After(deadline) {
				t.Fatalf("CMD did not run for %s within 30s; its lines: %q; stderr: %s", what, got, w.errb.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	if got := lines(1, "the initial version")[0]; strings.Join(strings.Fields(got), " ") != "0 7 7" {
		t.Errorf("CMD saw DELETED SIZE stdin-bytes = %q for the initial version; want %q", got, "0 7 7")
	}
	if r := v.run(t, "", "rm", "cfg"); r.code != 0 {
		t.Fatalf("rm: exit %d: %s", r.code, r.stderr)
	}
	got := lines(2, "the removal")[1]
	w.cmd.Process.Signal(syscall.SIGTERM)
	w.wait(t, 20*time.Second)
	if f := strings.Fields(got); len(f) != 3 || f[0] != "1" || f[1] != "0" || f[2] != "0" {
		t.Errorf("CMD saw DELETED SIZE stdin-bytes = %q; want %q", got, "1 0 0")
	}
}
