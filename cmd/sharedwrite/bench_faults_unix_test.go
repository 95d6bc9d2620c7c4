//go:build unix

package main

import (
	"bytes"
	"fmt"
	"os"
	"strings"
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
//
// The root does not wait for a disk (see quietRoot): the bound is on
// bench's wait for Redis. Its calls on the volume are bounded by --timeout
// each, not by Redis's stop: the bare write or the run record in flight when
// Redis stops, and the clean-up after the failed call, add the volume's own
// time, which on a loaded disk (fsyncs, removals) reaches seconds.
func TestBenchRedisStoppedWithinTimeout(t *testing.T) {
	needRedis(t)
	const timeout = 4 * time.Second
	for attempt := range 5 {
		rs := testrig.StartRedis(t)
		v := volume{mode: mode{name: "redis", redis: rs.URL()}, root: quietRoot(t)}
		if r := v.run(t, "", "init-volume"); r.code != 0 {
			t.Fatalf("attempt %d: init-volume: exit %d: %s", attempt, r.code, r.stderr)
		}
		s := v.start(t, "--timeout", timeout.String(), "bench", "--ops", "1000000")
		waitFor(t, s, func() bool { return len(benchDirs(t, v.root)) > 0 }, "the bench directory")
		time.Sleep(time.Duration(300+attempt*59) * time.Millisecond)
		pid := rs.PID()
		if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
			t.Fatalf("attempt %d: SIGSTOP redis-server %d: %v", attempt, pid, err)
		}
		stopped := time.Now()
		code := waitOrQuit(t, s, 30*time.Second, pid)
		took := time.Since(stopped)
		syscall.Kill(pid, syscall.SIGCONT)
		// The keys bench could not delete outlive its run record, those
		// without a TTL for good: it must name each, or no one can tell
		// them from the volume's own.
		cl := rs.Client(t)
		keys, err := cl.Keys(t.Context(), "*").Result()
		if err != nil {
			t.Fatalf("attempt %d: KEYS after SIGCONT: %v", attempt, err)
		}
		for _, k := range keys {
			if ttl, err := cl.TTL(t.Context(), k).Result(); err != nil || ttl >= 0 {
				continue // gone meanwhile, or expires
			}
			if !strings.Contains(s.errb.String(), k) {
				t.Errorf("attempt %d: Redis key %q left by bench, not named in its stderr:\n%s", attempt, k, s.errb.String())
			}
		}
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

// waitOrQuit waits (d at most) for the bench s, whose Redis (pid redisPID)
// the test stopped, and returns its exit code. Past d it fails the test with
// what tells a bench stuck on a call from one that runs on because its Redis
// answers again (resumed by someone else): the Redis process's state (T:
// still stopped) and bench's goroutines (SIGQUIT: the Go runtime prints them
// on stderr and exits).
func waitOrQuit(t *testing.T, s *started, d time.Duration, redisPID int) int {
	t.Helper()
	select {
	case <-s.done:
		return s.code
	case <-time.After(d):
	}
	state := procStateOf(redisPID)
	s.cmd.Process.Signal(syscall.SIGQUIT)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
	}
	t.Fatalf("sharedwrite %q still running %v after its Redis was stopped (redis-server %d: state %s); its goroutines (SIGQUIT):\n%s",
		s.cmd.Args, d, redisPID, state, s.errb.String())
	return -1
}

// procStateOf is the state field of /proc/<pid>/stat ("T": stopped), or why
// it cannot be read (no /proc on this system, no such process).
func procStateOf(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return fmt.Sprintf("unknown (%v)", err)
	}
	// After "pid (comm) ": the command name may hold spaces and parentheses.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return fmt.Sprintf("unknown (%q)", b)
	}
	return string(b[i+2])
}
