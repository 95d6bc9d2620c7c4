//go:build unix

package main

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestLockLeaseLost: the lease is lost while CMD runs (the CLI is paused past
// its TTL and another process takes the lease): CMD gets SIGTERM and lock
// exits 4.
func TestLockLeaseLost(t *testing.T) {
	v := newVolume(t, mode{name: "redis", redis: needRedis(t).URL()})
	dir := t.TempDir()
	startedMark, termMark := filepath.Join(dir, "started"), filepath.Join(dir, "got-term")
	holder := v.start(t, "--lease-ttl", "1s", "lock", "k", "--", "sh", "-c",
		`trap 'touch "$1"; exit 0' TERM; touch "$0"; while :; do sleep 0.05; done`, startedMark, termMark)
	waitForFile(t, startedMark, 30*time.Second)
	if err := holder.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	// Another writer takes the Redis lease once the paused holder's expires;
	// it then waits for the file lock, which the holder and its command hold.
	other := v.start(t, "--timeout", "60s", "write", "k", "--from", "/dev/null")
	time.Sleep(2500 * time.Millisecond)
	holder.cmd.Process.Signal(syscall.SIGCONT)
	if code := holder.wait(t, 30*time.Second); code != 4 {
		t.Errorf("lock whose lease was lost: exit %d; want 4; stderr: %s", code, holder.errb.String())
	}
	if _, err := os.Stat(termMark); err != nil {
		t.Errorf("the command did not get SIGTERM: %v", err)
	}
	if code := other.wait(t, 60*time.Second); code != 0 {
		t.Errorf("other writer: exit %d; stderr: %s", code, other.errb.String())
	}
}
