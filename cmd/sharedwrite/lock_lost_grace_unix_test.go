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

	"github.com/sharedwrite/sharedwrite/locking"
)

// lockIgnoringTerm starts `lock k -- CMD` on v with lease TTL ttl, CMD a
// shell that notes SIGTERM in termMark and goes on (its sleep, in the same
// group, dies of it; the loop starts another), and returns once CMD runs,
// with CMD's pid.
func lockIgnoringTerm(t *testing.T, v volume, ttl time.Duration) (holder *started, pid int, termMark string) {
	t.Helper()
	dir := t.TempDir()
	startedMark, pidFile := filepath.Join(dir, "started"), filepath.Join(dir, "pid")
	termMark = filepath.Join(dir, "got-term")
	holder = v.start(t, "--lease-ttl", ttl.String(), "lock", "k", "--", "sh", "-c",
		`trap 'touch "$1"' TERM; echo $$ > "$2"; touch "$0"; while :; do sleep 0.05; done`, startedMark, termMark, pidFile)
	waitForFile(t, startedMark, 30*time.Second)
	b, err := os.ReadFile(pidFile)
	pid, perr := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || perr != nil {
		t.Fatalf("the command's pid: %q, %v, %v", b, err, perr)
	}
	return holder, pid, termMark
}

// leaseKey returns the Redis key of name's lease on v.
func leaseKey(t *testing.T, v volume, name string) string {
	t.Helper()
	vid, err := os.ReadFile(filepath.Join(v.root, ".sharedwrite", "volume-id"))
	if err != nil {
		t.Fatal(err)
	}
	return locking.RedisKeys(strings.TrimSpace(string(vid)), name).Lock
}

// deleteLeaseKey deletes the Redis key of name's lease on v, as when it
// expired: the holder's next refresh finds it lost.
func deleteLeaseKey(t *testing.T, v volume, name string) {
	t.Helper()
	lockKey := leaseKey(t, v, name)
	if n, err := needRedis(t).Client(t).Del(context.Background(), lockKey).Result(); err != nil || n != 1 {
		t.Fatalf("delete the lease's key %s: %d deleted, %v; want 1", lockKey, n, err)
	}
}

// TestLockLostKillsWithinTTL: the lease of `lock` is lost (its Redis key is
// deleted, as when it expired and another holder may take it) while CMD runs,
// and CMD ignores SIGTERM: CMD is killed about half a TTL after the SIGTERM,
// not 10 s later, and lock exits 4. A CMD that ran on for 10 s would write
// under a lease another holder may hold for most of that time.
func TestLockLostKillsWithinTTL(t *testing.T) {
	const ttl = 2 * time.Second
	v := newVolume(t, mode{name: "redis", redis: needRedis(t).URL()})
	holder, pid, termMark := lockIgnoringTerm(t, v, ttl)
	deleteLeaseKey(t, v, "k")
	// The watchdog refreshes every TTL/3: it finds the key gone and the
	// lease lost within a TTL.
	waitForFile(t, termMark, 30*time.Second)
	termAt := time.Now()

	// The grace is at most half the TTL; the bound leaves a margin for a
	// loaded machine and is still well short of 10 s.
	const bound = ttl + 3*time.Second
	for syscall.Kill(pid, 0) == nil && time.Since(termAt) < 30*time.Second {
		time.Sleep(20 * time.Millisecond)
	}
	if took := time.Since(termAt); took > bound {
		t.Errorf("the command that ignores SIGTERM ran on %v after it, with its lease lost (TTL %v); want it killed within %v", took.Round(10*time.Millisecond), ttl, bound)
	}
	if code := holder.wait(t, 30*time.Second); code != 4 {
		t.Errorf("lock whose lease was lost: exit %d; want 4; stderr: %s", code, holder.errb.String())
	}
}

// TestLockLostAfterInterruptKillsWithinTTL: `lock` is sent SIGTERM and CMD,
// which ignores it, is given lockTermGrace to stop while the lease is still
// held; the lease is then lost. CMD must not run on for the rest of that
// grace (another holder may take the key): it is killed about half a TTL
// after the loss, as when the loss comes first.
func TestLockLostAfterInterruptKillsWithinTTL(t *testing.T) {
	const ttl = 2 * time.Second
	v := newVolume(t, mode{name: "redis", redis: needRedis(t).URL()})
	holder, pid, termMark := lockIgnoringTerm(t, v, ttl)
	if err := holder.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitForFile(t, termMark, 30*time.Second)
	deleteLeaseKey(t, v, "k")
	lostAt := time.Now()
	// Found lost within a TTL (refreshes every TTL/3), then half a TTL; the
	// bound leaves a margin and is still well short of the 10 s grace.
	const bound = ttl + ttl/2 + 3*time.Second
	for syscall.Kill(pid, 0) == nil && time.Since(lostAt) < 30*time.Second {
		time.Sleep(20 * time.Millisecond)
	}
	if took := time.Since(lostAt); took > bound {
		t.Errorf("the command that ignores SIGTERM ran on %v after its lease was lost (lock interrupted before; TTL %v); want it killed within %v", took.Round(10*time.Millisecond), ttl, bound)
	}
	if code := holder.wait(t, 30*time.Second); code != 143 && code != 4 {
		t.Errorf("lock interrupted, then its lease lost: exit %d; want 143 (or 4); stderr: %s", code, holder.errb.String())
	}
}
