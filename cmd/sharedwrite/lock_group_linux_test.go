//go:build linux

package main

import (
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// TestLockStoppedLeavesNoCommandChildRunning: when `lock` stops its CMD (the
// lease was lost, or the CLI got SIGTERM), a child CMD started that ignores
// SIGTERM does not go on running after lock has exited and the key is free:
// it would go on working on NAME while the next holder does. CMD, a shell,
// ended at the SIGTERM; its child went on.
func TestLockStoppedLeavesNoCommandChildRunning(t *testing.T) {
	// The child ignores SIGTERM (then says so); the shell waits for it and
	// ends at SIGTERM.
	const script = `sh -c 'trap "" TERM; touch "$0"; exec sleep 60' "$0" & echo $! > "$1"; wait`
	for _, tc := range []struct {
		name string
		stop func(t *testing.T, s *started)
		want int
	}{
		{"interrupted", func(t *testing.T, s *started) { s.cmd.Process.Signal(syscall.SIGTERM) }, 128 + int(syscall.SIGTERM)},
		{"lease lost", func(t *testing.T, s *started) {
			// Paused past its TTL: resumed, it finds the lease lost.
			if err := s.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
				t.Fatal(err)
			}
			time.Sleep(2 * time.Second)
			s.cmd.Process.Signal(syscall.SIGCONT)
		}, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := newVolume(t, mode{name: "redis", redis: needRedis(t).URL()})
			dir := t.TempDir()
			mark, pidf := filepath.Join(dir, "mark"), filepath.Join(dir, "pid")
			s := v.start(t, "--lease-ttl", "1s", "lock", "k", "--", "sh", "-c", script, mark, pidf)
			waitForFile(t, mark, 30*time.Second)
			b := readWhenWritten(t, pidf, 30*time.Second)
			pid, err := strconv.Atoi(b)
			if err != nil {
				t.Fatalf("the child's pid %q: %v", b, err)
			}
			killOnCleanup(t, pid)
			tc.stop(t, s)
			if code := s.wait(t, 30*time.Second); code != tc.want {
				t.Errorf("exit %d; want %d; stderr: %s", code, tc.want, s.errb.String())
			}
			deadline := time.Now().Add(5 * time.Second)
			for alive(pid) && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			if alive(pid) {
				t.Errorf("CMD's child (pid %d), which ignores SIGTERM, still runs 5s after lock exited %d", pid, s.code)
			}
		})
	}
}
