package locking

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
)

// TestUnixSocketPathWithAt: a unix:// URL whose socket path holds
// an '@' (a legal file name character, e.g. a directory of a templated
// systemd instance, "redis@main") names that socket, with or without a
// password before it.
func TestUnixSocketPathWithAt(t *testing.T) {
	for _, tc := range []struct{ url, addr, pass string }{
		{"unix:///run/redis@main/redis.sock", "/run/redis@main/redis.sock", ""},
		{"unix:///run/redis@main/redis.sock?db=2", "/run/redis@main/redis.sock", ""},
		{"unix://:pw@/run/redis@main/redis.sock", "/run/redis@main/redis.sock", "pw"},
	} {
		c, err := ParseRedisURL(tc.url)
		if err != nil {
			t.Errorf("ParseRedisURL(%q): %v", tc.url, err)
			continue
		}
		if c.Simple == nil || c.Simple.Addr != tc.addr || c.Simple.Network != "unix" || c.Simple.Password != tc.pass {
			t.Errorf("ParseRedisURL(%q): %s %q, password %q; want unix socket %q, password %q", tc.url, c.Simple.Network, c.Simple.Addr, c.Simple.Password, tc.addr, tc.pass)
		}
	}

	// Against a real server whose socket lives in such a directory.
	dir := filepath.Join(t.TempDir(), "r@x")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	r, err := testrig.LaunchRedis(dir)
	if err != nil {
		testrig.Unavailable(t, "redis-server: "+err.Error())
	}
	t.Cleanup(r.Kill)
	c, err := NewClient(r.SocketURL())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	le, err := NewRedisLocker(c, "v").Acquire(ctxTimeout(t, 2*time.Second), "k", time.Second)
	if err != nil {
		t.Fatalf("Acquire via %s: %v", r.SocketURL(), err)
	}
	le.Release(ctxTimeout(t, 2*time.Second), nil, "k")
}
