package locking

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestRedisKeysNames pins the Redis names FORMAT.md lists.
func TestRedisKeysNames(t *testing.T) {
	k := RedisKeys("v{1}", "a/b")
	p := "sw:{v%7B1%7D:" + KeyHash("a/b") + "}:"
	for _, c := range []struct{ got, want string }{
		{k.Lock, p + "lock"}, {k.Token, p + "token"}, {k.Fence, p + "fence"}, {k.Commit, p + "commit"},
		{k.Queue, p + "queue"}, {k.QueueExpiry, p + "qexp"}, {k.ReleaseChannel, p + "released"}, {k.ChangeChannel, p + "changed"},
	} {
		if c.got != c.want {
			t.Errorf("got %q; want %q", c.got, c.want)
		}
	}
}

// TestWakeChannel pins the per-process release channel release.lua derives
// from a lease id (TestReleaseMessageNamesHead checks the script's side).
func TestWakeChannel(t *testing.T) {
	k := RedisKeys("v", "a/b")
	p := k.ReleaseChannel + ":"
	tests := []struct{ id, want string }{
		{"web-1/4211/9f3a0c1d2e3f4a5b", p + "web-1/4211"},
		{"a/b/7/x", p + "a/b/7"},
		{"solo", p + "solo"},
		{"h/1/", p + "h/1"},
	}
	for _, tc := range tests {
		if got := k.WakeChannel(tc.id); got != tc.want {
			t.Errorf("WakeChannel(%q) = %q; want %q", tc.id, got, tc.want)
		}
	}
	l := NewRedisLocker(nil, "v", Host("web-1"))
	id := newLeaseID(l.idPrefix)
	if got, want := k.WakeChannel(id), p+"web-1/"+strconv.Itoa(os.Getpid())+"/"; !strings.HasPrefix(got, want) || len(got) != len(want)+8 {
		t.Errorf("WakeChannel of a lease id of this process (%q) = %q; want %q and the locker's 8 hex digits", id, got, want)
	}
	if other := NewRedisLocker(nil, "v", Host("web-1")); k.WakeChannel(newLeaseID(other.idPrefix)) == k.WakeChannel(id) {
		t.Errorf("two lockers of one process share the release channel %q; want one each", k.WakeChannel(id))
	}
}
