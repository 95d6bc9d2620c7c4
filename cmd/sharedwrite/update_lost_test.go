//go:build unix

package main

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestUpdateLeaseLostStopsCommand: the lease is lost while update's command
// runs (the CLI is paused past its TTL and another writer takes the lease):
// the command gets SIGTERM at once, update exits 4 and writes nothing.
func TestUpdateLeaseLostStopsCommand(t *testing.T) {
	v := newVolume(t, mode{name: "redis", redis: needRedis(t).URL()})
	if r := v.run(t, "v1", "write", "k", "--from", "-"); r.code != 0 {
		t.Fatalf("write: exit %d: %s", r.code, r.stderr)
	}
	dir := t.TempDir()
	startedMark, termMark := filepath.Join(dir, "started"), filepath.Join(dir, "got-term")
	holder := v.start(t, "--lease-ttl", "1s", "update", "k", "--", "sh", "-c",
		`trap 'touch "$1"; exit 0' TERM; touch "$0"; while :; do sleep 0.05; done`, startedMark, termMark)
	waitForFile(t, startedMark, 30*time.Second)
	if err := holder.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	other := v.start(t, "--timeout", "60s", "write", "k", "--from", "/dev/null")
	time.Sleep(2500 * time.Millisecond)
	holder.cmd.Process.Signal(syscall.SIGCONT)
	if code := holder.wait(t, 20*time.Second); code != 4 {
		t.Errorf("update whose lease was lost: exit %d; want 4; stderr: %s", code, holder.errb.String())
	}
	if _, err := os.Stat(termMark); err != nil {
		t.Errorf("the command did not get SIGTERM: %v", err)
	}
	if code := other.wait(t, 60*time.Second); code != 0 {
		t.Errorf("other writer: exit %d; stderr: %s", code, other.errb.String())
	}
}
