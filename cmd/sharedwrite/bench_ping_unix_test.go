//go:build unix

package main

import (
	"strings"
	"syscall"
	"testing"
	"time"
)

// SIGINT while bench waits for a PING's reply (the PING held by a proxy, so
// that the signal lands in the PING turn every time) is reported as the
// interruption (exit 130), not as Redis being unavailable: bench used to
// print "bench redis PING: redis unavailable: context canceled".
func TestBenchSignalDuringPing(t *testing.T) {
	needRedis(t)
	v := newVolume(t, mode{name: "redis", redis: redisSrv.URL()})
	addr, held := cutProxy(t, redisSrv.Addr(), "ping", true)
	v.redis = "redis://" + addr
	s := v.start(t, "--timeout", "20s", "bench", "--ops", "3")
	select {
	case <-held:
	case <-time.After(30 * time.Second):
		t.Fatalf("bench sent no PING; stderr %s", s.errb.String())
	}
	time.Sleep(100 * time.Millisecond)
	s.cmd.Process.Signal(syscall.SIGINT)
	sent := time.Now()
	code := s.wait(t, time.Minute)
	stderr := s.errb.String()
	if code != 130 || strings.Contains(stderr, "redis unavailable") || !strings.Contains(stderr, "interrupt") {
		t.Errorf("SIGINT during a PING: exit %d after %v, stderr %q; want 130, reported as the interruption, not Redis unavailable",
			code, time.Since(sent).Round(time.Millisecond), stderr)
	}
	if d := benchDirs(t, v.root); len(d) > 0 {
		t.Errorf("bench directory left behind: %q", d)
	}
}
