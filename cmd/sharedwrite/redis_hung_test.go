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
