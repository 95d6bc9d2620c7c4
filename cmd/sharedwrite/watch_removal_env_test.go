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
	w := v.start(t, "--timeout", "0", "watch", "cfg", "--interval", "100ms", "--",
		"sh", "-c", `echo "$SHAREDWRITE_DELETED $SHAREDWRITE_SIZE $(wc -c)" >>"$0"`, out)
	time.Sleep(1500 * time.Millisecond) // watch has read the current version
	if r := v.run(t, "", "rm", "cfg"); r.code != 0 {
		t.Fatalf("rm: exit %d: %s", r.code, r.stderr)
	}
	deadline := time.Now().Add(20 * time.Second)
	var got string
	for time.Now().Before(deadline) {
		b, _ := os.ReadFile(out)
		if got = strings.TrimSpace(string(b)); got != "" {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	w.cmd.Process.Signal(syscall.SIGTERM)
	w.wait(t, 20*time.Second)
	if f := strings.Fields(got); len(f) != 3 || f[0] != "1" || f[1] != "0" || f[2] != "0" {
		t.Errorf("CMD saw DELETED SIZE stdin-bytes = %q; want %q", got, "1 0 0")
	}
}
