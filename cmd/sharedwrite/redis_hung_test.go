package main

import (
	"net"
	"strings"
	"testing"
	"time"
)

// TestTimeoutWhenSentinelHangs: with a Sentinel URL whose only sentinel
// accepts connections and never answers, a command gives up within --timeout
// (exit 6), as with redis:// above. It took go-redis's dial timeout (5 s)
// whatever --timeout was: the master is looked up under the dial timeout
// alone, not the caller's deadline.
func TestTimeoutWhenSentinelHangs(t *testing.T) {
	needRedis(t)
	v := newVolume(t, mode{name: "redis", redis: redisSrv.URL()})
	u := "redis+sentinel://" + hungListener(t) + "/mymaster"
	for _, c := range [][]string{{"init-volume"}, {"doctor"}, {"write", "f", "--from", "-"}} {
		res, tooks := v.runWithin(t, 6, 1700*time.Millisecond, "x", append([]string{"--redis", u, "--timeout", "1s"}, c...)...)
		if res.code != 6 || res.took > 1700*time.Millisecond {
			t.Errorf("%q with a hung sentinel, --timeout 1s: exit %d after %v; want 6 within the timeout (+0.7 s); stderr: %s",
				c, res.code, tooks, strings.TrimSpace(res.stderr))
		}
	}
}

// runWithin runs the CLI on v like run, and runs it again (at most three
// times in all) while it exits with code want less than a second later than
// bound: the bound is on the command, and a run of a separate process on a
// loaded machine (CI: two cores, two race-enabled test binaries) can lose a
// few hundred milliseconds to the scheduler now and then, on top of its
// --timeout. An overrun of a second or more (a release waiting out a TTL, a
// 5 s dial timeout) fails at once. It returns the last result and the
// durations of all runs.
func (v volume) runWithin(t *testing.T, want int, bound time.Duration, stdin string, args ...string) (result, []time.Duration) {
	t.Helper()
	var tooks []time.Duration
	for {
		res := v.run(t, stdin, args...)
		tooks = append(tooks, res.took.Round(time.Millisecond))
		if res.code != want || res.took <= bound || res.took >= bound+time.Second || len(tooks) == 3 {
			return res, tooks
		}
		t.Logf("%q: exit %d after %v, over %v: run again", args, res.code, res.took.Round(time.Millisecond), bound)
	}
}

// hungListener accepts TCP connections on loopback and never answers (a
// frozen or black-holed sentinel). Closed on cleanup.
func hungListener(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}

// TestSentinelRefusedNamesErrno: with a Sentinel URL whose only sentinel
// refuses connections, a command exits 6 naming the refusal, as with
// redis://. The dial retries go-redis nests (the master's, each looking the
// master up from the sentinels, whose dials are retried too) lasted until the
// deadline, and the deadline's error was all the message said.
func TestSentinelRefusedNamesErrno(t *testing.T) {
	needRedis(t)
	v := newVolume(t, mode{name: "redis", redis: redisSrv.URL()})
	u := "redis+sentinel://" + refusedAddr(t) + "/mymaster"
	for _, c := range [][]string{{"init-volume"}, {"doctor"}, {"write", "f", "--from", "-"}} {
		res := v.run(t, "x", append([]string{"--redis", u, "--timeout", "1s"}, c...)...)
		if res.code != 6 || !strings.Contains(res.stderr, "connection refused") {
			t.Errorf("%q with the sentinel refusing connections: exit %d, stderr %q; want 6 naming \"connection refused\"",
				c, res.code, strings.TrimSpace(res.stderr))
		}
	}
}

// refusedAddr returns a loopback address nothing listens on.
func refusedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := ln.Addr().String()
	ln.Close()
	return a
}

// TestRedisURLMistakesAreUsage: a port out of range and a unix:// path that
// is not absolute are usage errors (exit 2) at once. They passed the URL
// check and failed only when dialled, as an outage (exit 6) after the whole
// --timeout; unix://tmp/r.sock dialled /r.sock.
func TestRedisURLMistakesAreUsage(t *testing.T) {
	v := newVolume(t, mode{name: "local"})
	for _, u := range []string{"redis://:pw@127.0.0.1:99999", "redis+cluster://127.0.0.1:99999", "unix://tmp/r.sock"} {
		res := v.run(t, "x", "--redis", u, "--timeout", "5s", "write", "f", "--from", "-")
		if res.code != 2 || res.took > 3*time.Second {
			t.Errorf("--redis %s: exit %d after %v; want 2 at once; stderr: %s", u, res.code, res.took.Round(time.Millisecond), strings.TrimSpace(res.stderr))
		}
		if strings.Contains(res.stderr, ":pw@") {
			t.Errorf("--redis %s: the password is in the error: %s", u, res.stderr)
		}
	}
}
