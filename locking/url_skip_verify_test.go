package locking

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
)

// TestSkipVerifyHonoured: skip_verify=true (go-redis's query parameter)
// turns certificate verification off for rediss:// in each of its forms, so
// a server whose CA the client lacks is reached; it is never silently
// dropped (the server's certificate then fails verification), nor refused as
// an unknown option. Without it, or with skip_verify=false, the same server
// fails verification (ErrTLS). On redis:// it is a mistake.
func TestSkipVerifyHonoured(t *testing.T) {
	r := testrig.StartRedisTLS(t, false)
	ctx := ctxTimeout(t, 20*time.Second)

	t.Run("server without its CA", func(t *testing.T) {
		c, err := NewClient("rediss://" + r.Addr() + "/?skip_verify=true")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.Ping(ctx).Err(); err != nil {
			t.Fatalf("PING over rediss:// with skip_verify=true and no CA: %v; want PONG", err)
		}
		l := NewRedisLocker(c, uniqueVolume(t))
		defer l.Close()
		le, err := l.Acquire(ctx, "k", time.Second)
		if err != nil {
			t.Fatalf("Acquire with skip_verify=true: %v", err)
		}
		le.Release(ctx, nil, "k")
	})
	for _, q := range []string{"", "?skip_verify=false"} {
		t.Run("verified"+q, func(t *testing.T) {
			c, err := NewClient("rediss://" + r.Addr() + "/" + q)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			l := NewRedisLocker(c, uniqueVolume(t))
			defer l.Close()
			le, err := l.Acquire(ctxTimeout(t, 5*time.Second), "k", time.Second)
			if err == nil {
				le.Release(ctx, nil, "k")
				t.Fatal("Acquire without the CA succeeded; want a certificate error")
			}
			if !errors.Is(err, ErrTLS) {
				t.Fatalf("Acquire without the CA: %v; want ErrTLS", err)
			}
		})
	}
	for _, u := range []string{
		"rediss+sentinel://127.0.0.1:26379/mymaster?skip_verify=true",
		"rediss+cluster://127.0.0.1:7000,127.0.0.1:7001?skip_verify=true",
		"rediss://127.0.0.1:7000?addr=127.0.0.1:7001&skip_verify=true",
	} {
		t.Run(u, func(t *testing.T) {
			c, err := ParseRedisURL(u)
			if err != nil {
				t.Fatalf("ParseRedisURL: %v; want skip_verify accepted", err)
			}
			var skip bool
			switch {
			case c.Failover != nil:
				skip = c.Failover.TLSConfig != nil && c.Failover.TLSConfig.InsecureSkipVerify
			case c.Cluster != nil:
				skip = c.Cluster.TLSConfig != nil && c.Cluster.TLSConfig.InsecureSkipVerify
			}
			if !skip {
				t.Errorf("InsecureSkipVerify off for %s; want on", u)
			}
		})
	}
	for _, u := range []string{"redis://127.0.0.1:6379?skip_verify=true", "rediss://127.0.0.1:6379?skip_verify=maybe"} {
		t.Run(u, func(t *testing.T) {
			_, err := ParseRedisURL(u)
			if err == nil || !strings.Contains(err.Error(), "skip_verify") {
				t.Errorf("ParseRedisURL: %v; want a refusal naming skip_verify", err)
			}
		})
	}
}
