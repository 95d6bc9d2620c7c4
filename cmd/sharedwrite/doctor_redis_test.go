package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// doctor measures the clock skew with TIME after the round trip: a Redis
// that refuses TIME (an ACL) fails doctor as any refusal by Redis does (exit
// 1), and one that closes the connection at TIME is unreachable (exit 6);
// either way the report names TIME and lists it as a problem. It printed
// "verdict ok" (and JSON without redis_error or problems) and then exited 1
// or 6, and the lease probe was skipped without a word.
func TestDoctorRedisFailsAtTIME(t *testing.T) {
	srv := needRedis(t)
	c := srv.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Do(ctx, "ACL", "SETUSER", "doctor-notime", "on", ">nt-pw", "~*", "&*", "+@all", "-time").Err(); err != nil {
		t.Fatalf("ACL SETUSER: %v", err)
	}
	t.Cleanup(func() { c.Do(context.Background(), "ACL", "DELUSER", "doctor-notime") })
	v := newVolume(t, mode{name: "redis", redis: srv.URL()})

	for _, tc := range []struct {
		name   string
		url    func(t *testing.T) string
		code   int
		status string // how redis_error begins
	}{
		{"refused", func(*testing.T) string { return "redis://doctor-notime:nt-pw@" + srv.Addr() }, 1, "refused"},
		{"connection closed", func(t *testing.T) string { return "redis://" + cutProxy(t, srv.Addr(), "time", false) }, 6, "unreachable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := tc.url(t)
			r := runCLI(t, nil, "", "--root", v.root, "--redis", u, "--timeout", "5s", "doctor", "--json")
			if r.code != tc.code {
				t.Errorf("doctor --json: exit %d; want %d; stderr %s", r.code, tc.code, r.stderr)
			}
			d := parseDoctor(t, r)
			if !strings.HasPrefix(d.RedisErr, tc.status) || !strings.Contains(d.RedisErr, "TIME") {
				t.Errorf("redis_error %q; want it %s at TIME", d.RedisErr, tc.status)
			}
			if !strings.Contains(strings.Join(d.Problems, "\n"), "TIME") {
				t.Errorf("problems %q; want the failure at TIME among them", d.Problems)
			}

			r = runCLI(t, nil, "", "--root", v.root, "--redis", u, "--timeout", "5s", "doctor")
			if r.code != tc.code {
				t.Errorf("doctor: exit %d; want %d; stderr %s", r.code, tc.code, r.stderr)
			}
			if strings.Contains(r.stdout, "verdict") || !strings.Contains(r.stdout, "PROBLEM") {
				t.Errorf("doctor prints a verdict or no PROBLEM while it exits %d:\n%s", r.code, r.stdout)
			}
			if !strings.Contains(r.stderr, "TIME") {
				t.Errorf("doctor's error does not name TIME: %s", r.stderr)
			}
			if strings.Contains(r.stdout+r.stderr, "nt-pw") {
				t.Errorf("doctor printed the password:\n%s%s", r.stdout, r.stderr)
			}
		})
	}
}

// A Redis that closes the connection or stops answering while doctor takes
// its probe lease is unreachable: exit 6, as doctor's help says, with the
// failure in the report. It exited 5, as if a guarantee did not hold.
func TestDoctorRedisStopsAtLeaseProbe(t *testing.T) {
	srv := needRedis(t)
	v := newVolume(t, mode{name: "redis", redis: srv.URL()})
	for _, tc := range []struct {
		name string
		hang bool
	}{
		{"connection closed", false},
		{"stops answering", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := "redis://" + cutProxy(t, srv.Addr(), "evalsha", tc.hang)
			r := runCLI(t, nil, "", "--root", v.root, "--redis", u, "--timeout", "2s", "doctor", "--json")
			if r.code != 6 {
				t.Errorf("doctor: exit %d; want 6; stdout %s; stderr %s", r.code, r.stdout, r.stderr)
			}
			if r.took > 10*time.Second {
				t.Errorf("doctor took %v with --timeout 2s", r.took.Round(time.Millisecond))
			}
			d := parseDoctor(t, r)
			if !strings.HasPrefix(d.RedisErr, "unreachable") || !strings.Contains(strings.Join(d.Problems, "\n"), "lease") {
				t.Errorf("redis_error %q, problems %q; want Redis unreachable at the lease probe among the problems", d.RedisErr, d.Problems)
			}
		})
	}
}

// cutProxy forwards TCP connections to addr, a redis-server, and returns its
// own address. On a connection whose client sends the command cmd (in lower
// case, as go-redis sends it) it forwards nothing more: it closes the
// connection, or with hang leaves it open and silent (a Redis that stopped
// answering). The test fails if no client sent cmd. Closed on cleanup.
func cutProxy(t *testing.T, addr, cmd string, hang bool) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// The command's name as a RESP bulk string: "$4\r\ntime\r\n".
	name := []byte(fmt.Sprintf("$%d\r\n%s\r\n", len(cmd), cmd))
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		conns  []net.Conn
		closed bool
		cut    atomic.Int32
	)
	keep := func(cs ...net.Conn) bool {
		mu.Lock()
		defer mu.Unlock()
		if closed {
			for _, c := range cs {
				c.Close()
			}
			return false
		}
		conns = append(conns, cs...)
		return true
	}
	forward := func(client, server net.Conn) {
		defer wg.Done()
		buf := make([]byte, 64<<10)
		var tail []byte // the end of what came before: a name split between two reads
		for {
			n, err := client.Read(buf)
			if n > 0 {
				seen := append(tail, bytes.ToLower(buf[:n])...)
				if bytes.Contains(seen, name) {
					cut.Add(1)
					if !hang {
						client.Close()
						server.Close()
					}
					return
				}
				if _, err := server.Write(buf[:n]); err != nil {
					client.Close()
					return
				}
				tail = append([]byte(nil), seen[max(0, len(seen)-len(name)+1):]...)
			}
			if err != nil {
				server.Close()
				return
			}
		}
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			client, err := ln.Accept()
			if err != nil {
				return
			}
			server, err := net.Dial("tcp", addr)
			if err != nil {
				client.Close()
				continue
			}
			if !keep(client, server) {
				return
			}
			wg.Add(2)
			go forward(client, server)
			go func() {
				defer wg.Done()
				io.Copy(client, server)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		closed = true
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
		if cut.Load() == 0 {
			t.Errorf("no client sent %s through the proxy: the fault was not injected", strings.ToUpper(cmd))
		}
	})
	return ln.Addr().String()
}
