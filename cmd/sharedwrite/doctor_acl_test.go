package main

import (
	"context"
	"strings"
	"testing"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
)

// doctor takes and releases a lease: a Redis user whose ACL refuses the
// lease scripts is a problem (exit 5, named), one that refuses PUBLISH and
// SUBSCRIBE a warning (leases work; watchers and waiters poll). Doctor
// leaves no key of its probe in Redis.
func TestDoctorChecksTheRedisUserCanTakeALease(t *testing.T) {
	needRedis(t)
	srv := testrig.StartRedis(t, "--requirepass", "admin-pw")
	admin := srv.Client(t)
	ctx := context.Background()
	for _, acl := range [][]any{
		{"ACL", "SETUSER", "noeval", "on", ">ne-pw", "~*", "&*", "+@all", "-evalsha", "-eval"},
		{"ACL", "SETUSER", "nopub", "on", ">np-pw", "~*", "&*", "+@all", "-publish", "-subscribe"},
	} {
		if err := admin.Do(ctx, acl...).Err(); err != nil {
			t.Fatal(err)
		}
	}
	v := newVolume(t, mode{name: "redis", redis: "redis://:admin-pw@" + srv.Addr()})
	for _, tc := range []struct {
		user string
		code int
		says string
	}{
		{"default:admin-pw", 0, "verdict"},
		{"noeval:ne-pw", 5, "a lease cannot be taken and released"},
		{"nopub:np-pw", 0, "refuses PUBLISH"},
	} {
		r := runCLI(t, nil, "", "--root", v.root, "--redis", "redis://"+tc.user+"@"+srv.Addr(), "doctor")
		out := r.stdout + r.stderr
		if r.code != tc.code || !strings.Contains(out, tc.says) {
			t.Errorf("doctor as %s: exit %d, want %d saying %q:\n%s", strings.Split(tc.user, ":")[0], r.code, tc.code, tc.says, out)
		}
		if strings.Contains(out, "-pw") {
			t.Errorf("doctor as %s printed a password:\n%s", strings.Split(tc.user, ":")[0], out)
		}
	}
	if !strings.Contains(runCLI(t, nil, "", "--root", v.root, "--redis", "redis://nopub:np-pw@"+srv.Addr(), "doctor").stdout, "refuses SUBSCRIBE") {
		t.Errorf("doctor as nopub does not warn that SUBSCRIBE is refused")
	}
	keys, err := admin.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 0 {
		t.Fatalf("doctor left keys in Redis: %q", keys)
	}
}
