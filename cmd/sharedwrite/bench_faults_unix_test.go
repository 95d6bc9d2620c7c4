//go:build unix

package main

import (
	"syscall"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
)

// Redis stops answering mid-bench (SIGSTOP: connections stay open, nothing
// replies): bench exits 6 within --timeout (plus slack), also when the stop
// lands in a coordinated write's release, which committed (the release's
// failure is only logged): the release waits no longer than the write's
// deadline, and bench stops on it instead of starting the next operation's
// --timeout. Repeated, since where the stop lands is chance.
func TestBenchRedisStoppedWithinTimeout(t *testing.T) {
	needRedis(t)
	const timeout = 4 * time.Second
	for attempt := range 5 {
		rs := testrig.StartRedis(t)
		v := newVolume(t, mode{name: "redis", redis: rs.URL()})
		s := v.start(t, "--timeout", timeout.String(), "bench", "--ops", "1000000")
		waitFor(t, s, func() bool { return len(benchDirs(t, v.root)) > 0 }, "the bench directory")
		time.Sleep(time.Duration(300+attempt*59) * time.Millisecond)
		pid := rs.PID()
		syscall.Kill(pid, syscall.SIGSTOP)
		stopped := time.Now()
		code := s.wait(t, 2*time.Minute)
		took := time.Since(stopped)
		syscall.Kill(pid, syscall.SIGCONT)
		rs.Kill()
		if d := benchDirs(t, v.root); len(d) > 0 {
			t.Errorf("attempt %d: left %q", attempt, d)
		}
		if code != 6 || took > timeout+1500*time.Millisecond {
			t.Fatalf("attempt %d: exit %d %v after Redis stopped; want 6 within --timeout %v (+1.5 s)\nstderr: %s", attempt, code, took.Round(time.Millisecond), timeout, s.errb.String())
		}
		t.Logf("attempt %d: exit 6 after %v", attempt, took.Round(time.Millisecond))
	}
}
