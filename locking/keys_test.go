package locking

import "testing"

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
