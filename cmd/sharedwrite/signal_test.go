package main

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestInterrupted: SIGTERM to the CLI cancels the operation: update commits
// nothing, lock passes SIGTERM on to its command, and the exit code is 143.
func TestInterrupted(t *testing.T) {
	v := newVolume(t, mode{name: "local"})
	if r := v.run(t, "orig\n", "write", "f"); r.code != 0 {
		t.Fatalf("write: exit %d: %s", r.code, r.stderr)
	}
	dir := t.TempDir()

	t.Run("update", func(t *testing.T) {
		mark := filepath.Join(dir, "update-running")
		s := v.start(t, "update", "f", "--", "sh", "-c", `cat >/dev/null; touch "$0"; sleep 30; echo changed`, mark)
		waitForFile(t, mark, 30*time.Second)
		s.cmd.Process.Signal(syscall.SIGTERM)
		if code := s.wait(t, 20*time.Second); code != 128+int(syscall.SIGTERM) {
			t.Errorf("exit %d; want %d; stderr %s", code, 128+int(syscall.SIGTERM), s.errb.String())
		}
		if b, _ := os.ReadFile(filepath.Join(v.root, "f")); string(b) != "orig\n" {
			t.Errorf("f holds %q; want %q", b, "orig\n")
		}
		if l := leftovers(t, v.root); len(l) > 0 {
			t.Errorf("temps left behind: %q", l)
		}
	})

	t.Run("lock", func(t *testing.T) {
		mark, term := filepath.Join(dir, "lock-running"), filepath.Join(dir, "lock-got-term")
		s := v.start(t, "lock", "f", "--", "sh", "-c", `trap 'touch "$1"; exit 0' TERM; touch "$0"; while :; do sleep 0.05; done`, mark, term)
		waitForFile(t, mark, 30*time.Second)
		s.cmd.Process.Signal(syscall.SIGTERM)
		if code := s.wait(t, 20*time.Second); code != 128+int(syscall.SIGTERM) {
			t.Errorf("exit %d; want %d; stderr %s", code, 128+int(syscall.SIGTERM), s.errb.String())
		}
		if _, err := os.Stat(term); err != nil {
			t.Errorf("the command did not get SIGTERM: %v", err)
		}
		// The lock was released.
		if r := v.run(t, "after\n", "--timeout", "5s", "write", "f"); r.code != 0 {
			t.Errorf("write after the interrupted lock: exit %d: %s", r.code, r.stderr)
		}
	})
}
