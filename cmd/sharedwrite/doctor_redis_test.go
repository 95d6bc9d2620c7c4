package main

import (
	"context"
	"strings"
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
		{"connection closed", func(t *testing.T) string { u, _ := cutProxy(t, srv.Addr(), "time", false); return "redis://" + u }, 6, "unreachable"},
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
			addr, _ := cutProxy(t, srv.Addr(), "evalsha", tc.hang)
			u := "redis://" + addr
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
