//go:build unix

package main

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
)

// freezeRedis stops the test's own redis-server with SIGSTOP: it accepts
// connections (the kernel does) but never answers. Cleanup continues it.
func freezeRedis(t *testing.T, r *testrig.Redis) {
	t.Helper()
	pid := r.PID()
	if pid == 0 {
		t.Fatal("redis-server not running")
	}
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGCONT) })
}

// TestTimeoutWhenRedisHangs: with Redis accepting connections but never
// answering, a command gives up within --timeout (exit 6). The release of the
// abandoned wait, which the CLI waits for before it exits, took another full
// second after the deadline.
func TestTimeoutWhenRedisHangs(t *testing.T) {
	needRedis(t)
	r := testrig.StartRedis(t)
	v := newVolume(t, mode{name: "redis", redis: r.URL()})
	freezeRedis(t, r)
	for _, c := range [][]string{{"write", "f", "--from", "-"}, {"lock", "f", "--", "true"}} {
		res, tooks := v.runWithin(t, 6, 1700*time.Millisecond, "x", append([]string{"--timeout", "1s"}, c...)...)
		if res.code != 6 || res.took > 1700*time.Millisecond {
			t.Errorf("%q with Redis hung, --timeout 1s: exit %d after %v; want 6 within the timeout (+0.7 s); stderr: %s",
				c, res.code, tooks, strings.TrimSpace(res.stderr))
		}
	}
}

// TestWatchInitialWhileRedisHangs: the volume's record is the truth and
// Redis the doorbell. With Redis hung, `watch --initial` delivers the
// current version from the volume at once; it waited for the subscription's
// connection (the client's read timeout) and Redis's copy of the record first,
// printing nothing for seven seconds.
func TestWatchInitialWhileRedisHangs(t *testing.T) {
	needRedis(t)
	r := testrig.StartRedis(t)
	v := newVolume(t, mode{name: "redis", redis: r.URL()})
	if res := v.run(t, "v1", "write", "cfg", "--from", "-"); res.code != 0 {
		t.Fatalf("write: exit %d: %s", res.code, res.stderr)
	}
	freezeRedis(t, r)
	start := time.Now()
	p := startWatch(t, v, "cfg", "--initial", "--json", "--interval", "200ms")
	l := p.waitLine(t, 30*time.Second, "the initial version", func(string) bool { return true })
	if took := l.at.Sub(start); took > 3*time.Second {
		t.Errorf("watch --initial with Redis hung: the initial version came after %v; want it at once from the volume; stderr: %q",
			took.Round(time.Millisecond), p.errb.String())
	}
	p.stop(t, syscall.SIGTERM)
}
