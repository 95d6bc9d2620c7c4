package main

import (
	"strings"
	"testing"
)

// User information whose "@host" was left off ("redis://:PASSWORD") reads to
// a URL parser as a host and a port that is not a number; the refusal (exit
// 2) must not quote that "port" any more than a password.
func TestRedisURLWithoutHostHidesPassword(t *testing.T) {
	const secret = "hunter2-Vx7"
	root := t.TempDir()
	for _, u := range []string{
		"redis://:" + secret,
		"redis://default:" + secret,
		"rediss://alice:" + secret + "/0",
		"redis://alice:" + secret + "?db=1",
		"redis+sentinel://alice:" + secret + "/mymaster",
		"redis+cluster://alice:" + secret + ",h2:1",
	} {
		for _, env := range [][]string{nil, {"SHAREDWRITE_REDIS=" + u}} {
			args := []string{"--root", root, "--log-level", "debug", "--timeout", "2s", "write", "f"}
			if env == nil {
				args = append([]string{"--redis", u}, args...)
			}
			r := runCLI(t, env, "data\n", args...)
			if r.code != 2 {
				t.Errorf("%s: exit %d; want 2 (a mistake in the URL); stderr %s", u, r.code, r.stderr)
			}
			if strings.Contains(r.stderr+r.stdout, secret) {
				t.Errorf("%s: output shows the password: %s%s", u, r.stdout, r.stderr)
			}
		}
	}
}
