package main

import (
	"strings"
	"testing"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
)

// TestSentinelUnknownMasterSaysSo: a Sentinel URL naming a master its
// sentinels do not monitor fails at once, saying the master is unknown to
// the sentinels that answered and naming what stopped any that did not. The
// message said that all sentinels were unreachable, while they had answered.
func TestSentinelUnknownMasterSaysSo(t *testing.T) {
	s := testrig.StartRedisSentinel(t)
	const pass = "s3cretpw"
	for _, tc := range []struct {
		name, hosts string
		want        []string
		code        int
	}{
		{"one sentinel", s.SentinelAddr(), nil, 1},
		// A sentinel that did not answer might know the master: that is
		// Redis unreachable (6), as with the one sentinel refusing.
		{"one of two refusing", refusedAddr(t) + "," + s.SentinelAddr(), []string{"connection refused"}, 6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := newVolume(t, mode{name: "local"})
			u := "redis+sentinel://:" + pass + "@" + tc.hosts + "/nosuchmaster"
			for _, c := range [][]string{{"init-volume"}, {"doctor"}} {
				res := v.run(t, "", append([]string{"--redis", u, "--timeout", "5s"}, c...)...)
				out := res.stdout + res.stderr
				want := append([]string{`master "nosuchmaster" is unknown to the sentinels that answered`}, tc.want...)
				for _, w := range want {
					if !strings.Contains(res.stderr, w) {
						t.Errorf("%q: stderr %q; want it to say %q", c, strings.TrimSpace(res.stderr), w)
					}
				}
				if res.code != tc.code {
					t.Errorf("%q: exit %d; want %d; stderr %q", c, res.code, tc.code, strings.TrimSpace(res.stderr))
				}
				if strings.Contains(out, "unreachable") {
					t.Errorf("%q: says a sentinel that answered is unreachable: %s", c, out)
				}
				if strings.Contains(out, pass) {
					t.Errorf("%q: the password is in the output: %s", c, out)
				}
			}
		})
	}
}
