package main

import (
	"strings"
	"testing"
	"time"
)

// TestNegativeFlagValuesAreUsageErrors: values a command cannot honour, which
// it would otherwise replace silently by a default, are usage errors (exit
// 2) naming the flag: a non-positive watch --interval, a negative append
// --max-batch-bytes, --rotate-at, --keep or --max-age, a negative clean
// --older-than.
func TestNegativeFlagValuesAreUsageErrors(t *testing.T) {
	v := newVolume(t, mode{name: "local"})
	for _, c := range []struct{ args []string }{
		{[]string{"watch", "cfg", "--interval=0"}},
		{[]string{"watch", "cfg", "--interval=-1s"}},
		{[]string{"append", "app.log", "--max-batch-bytes=-1"}},
		{[]string{"append", "app.log", "--rotate-at=-1"}},
		{[]string{"append", "app.log", "--keep=-1"}},
		{[]string{"append", "app.log", "--max-age=-1h"}},
		{[]string{"clean", "--older-than=-1m"}},
	} {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			s := v.startStdin(t, "line\n", c.args...)
			code := s.wait(t, 10*time.Second)
			flag := strings.SplitN(c.args[len(c.args)-1], "=", 2)[0]
			if code != 2 || !strings.Contains(s.errb.String(), flag) {
				t.Errorf("exit %d, stderr %q; want 2 (usage) naming %s", code, s.errb.String(), flag)
			}
		})
	}
}
