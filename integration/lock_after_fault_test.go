//go:build unix

package integration

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
)

// `lock NAME -- CMD` exits with CMD's status once CMD ran to its end under
// the lease, whatever Redis does after: killed (the release fails) or
// stopped (the lease is lost while the Lock closes). Before, it exited 6 and
// 4, and a user would run again a CMD that had done its work.
func TestLockExitsWithTheCommandStatusWhenRedisFailsAfterIt(t *testing.T) {
	for fault, done := range map[string]string{"kill": "killed", "stop": "stopped"} {
		t.Run(fault, func(t *testing.T) {
			r := testrig.StartRedis(t)
			v := newVol(t, t.TempDir(), r.URL(), "--timeout", "3s", "--lease-ttl", "4s")
			dir := t.TempDir()
			ready, finished := filepath.Join(dir, "ready"), filepath.Join(dir, "done")
			p := v.start(t, nil, "lock", "lk", "--", "sh", "-c", `: > "$1"; sleep 0.5; : > "$2"; exit 7`, "sh", ready, finished)
			waitFor(t, 10*time.Second, "CMD started", func() bool { return exists(ready) })
			pid := r.PID()
			if fault == "kill" {
				r.Kill()
			} else {
				if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { syscall.Kill(pid, syscall.SIGCONT) })
			}
			code := p.wait(t, 60*time.Second)
			if !exists(finished) {
				t.Fatalf("CMD did not run to its end (exit %d): %s", code, p.errb.String())
			}
			if code != 7 {
				t.Fatalf("lock exit %d after CMD exited 7 under the lease, Redis %s after it started; want 7: %s", code, done, strings.TrimSpace(p.errb.String()))
			}
		})
	}
}
