package main

import (
	"net"
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
		res := v.run(t, "x", append([]string{"--timeout", "1s"}, c...)...)
		if res.code != 6 || res.took > 1700*time.Millisecond {
			t.Errorf("%q with Redis hung, --timeout 1s: exit %d after %v; want 6 within the timeout (+0.7 s); stderr: %s",
				c, res.code, res.took.Round(time.Millisecond), strings.TrimSpace(res.stderr))
		}
	}
}

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
		res := v.run(t, "x", append([]string{"--redis", u, "--timeout", "1s"}, c...)...)
		if res.code != 6 || res.took > 1700*time.Millisecond {
			t.Errorf("%q with a hung sentinel, --timeout 1s: exit %d after %v; want 6 within the timeout (+0.7 s); stderr: %s",
				c, res.code, res.took.Round(time.Millisecond), strings.TrimSpace(res.stderr))
		}
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
