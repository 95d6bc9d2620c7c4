//go:build unix

package main

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
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
	// The holder, resumed, raises the floor one past its token (a process
	// its command started must not commit under it later), which is the
	// token the writer drew: the writer raises its token past the floor. That
	// is not Redis handing a token out again, so it is not a warning.
	other := v.start(t, "--timeout", "60s", "--log-level", "info", "write", "k", "--from", "/dev/null")
	// Resumed only once the writer holds the Redis lease (its token drawn).
	lockKey := leaseKey(t, v, "k")
	rc := needRedis(t).Client(t)
	mine := "/" + strconv.Itoa(other.cmd.Process.Pid) + "/"
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if id, _ := rc.Get(context.Background(), lockKey).Result(); strings.Contains(id, mine) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the other writer never took the Redis lease; stderr: %s", other.errb.String())
		}
	}
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
	raises := 0
	for _, line := range strings.Split(other.errb.String(), "\n") {
		if strings.Contains(line, "fencing token raised past the volume's floor") {
			raises++
			if !strings.Contains(line, "level=INFO") {
				t.Errorf("raise past the floor of a lost lock's lease logged as %q; want level INFO (Redis never restarted)", line)
			}
		}
	}
	if raises == 0 {
		t.Errorf("other writer did not raise its token past the lost lock's floor; stderr: %s", other.errb.String())
	}
}

// TestLockLostLeavesNoFloorToRaise: a lock whose lease was lost (paused past
// its TTL, no one waiting) still moves Redis's fence counter past the floor
// it raises when its command ends, so the next writer draws a token above
// that floor and has nothing to raise.
func TestLockLostLeavesNoFloorToRaise(t *testing.T) {
	v := newVolume(t, mode{name: "redis", redis: needRedis(t).URL()})
	started := filepath.Join(t.TempDir(), "started")
	// The command outlives the pause: the lease's loss is seen while it
	// runs, so the lock ends on its cancelled context.
	holder := v.start(t, "--lease-ttl", "500ms", "lock", "k", "--", "sh", "-c", `trap 'exit 0' TERM; touch "$0"; while :; do sleep 0.05; done`, started)
	waitForFile(t, started, 30*time.Second)
	if err := holder.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	holder.cmd.Process.Signal(syscall.SIGCONT)
	if code := holder.wait(t, 30*time.Second); code != 4 {
		t.Fatalf("lock paused past its TTL: exit %d; want 4 (lease lost); stderr: %s", code, holder.errb.String())
	}
	r := v.run(t, "x\n", "--log-level", "info", "write", "k")
	if r.code != 0 {
		t.Fatalf("write after the lost lock: exit %d: %s", r.code, r.stderr)
	}
	if strings.Contains(r.stderr, "fencing token raised past the volume's floor") {
		t.Errorf("write after a lost lock raised its token: the fence counter was not advanced past the lock's floor: %s", r.stderr)
	}
}
