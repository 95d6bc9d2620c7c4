package main

import (
	"strings"
	"testing"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
)

// TestSentinelRefusalSaysWhy: a Sentinel URL whose sentinel answers but
// gives no master — it refuses the sentinel password, or it is a plain Redis
// server (no SENTINEL command: the URL names a master's port) — fails saying
// what the sentinel answered and what to check, never that it was
// unreachable, and never showing a password.
func TestSentinelRefusalSaysWhy(t *testing.T) {
	const sentinelPass, masterPass = "s3ntinelpw", "m4sterpw"
	srv := testrig.StartRedis(t, "--requirepass", sentinelPass)
	for _, tc := range []struct {
		name, url string
		want      string
	}{
		{"wrong sentinel password", "redis+sentinel://:" + masterPass + "@" + srv.Addr() + "/mymaster?sentinel_password=wrong-" + sentinelPass,
			"refused the sentinel credentials (sentinel_username, sentinel_password"},
		{"not a sentinel", "redis+sentinel://:" + masterPass + "@" + srv.Addr() + "/mymaster?sentinel_password=" + sentinelPass,
			"is not a sentinel"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := newVolume(t, mode{name: "local"})
			res := v.run(t, "", "--redis", tc.url, "--timeout", "5s", "init-volume")
			out := res.stdout + res.stderr
			if res.code != 1 || !strings.Contains(res.stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want exit 1 and %q", res.code, strings.TrimSpace(res.stderr), tc.want)
			}
			if strings.Contains(out, "unreachable") {
				t.Errorf("says a sentinel that answered is unreachable: %s", out)
			}
			if strings.Contains(out, sentinelPass) || strings.Contains(out, masterPass) {
				t.Errorf("a password is in the output: %s", out)
			}
		})
	}
}
