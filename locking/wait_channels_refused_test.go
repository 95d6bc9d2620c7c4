package locking

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// TestReleaseReachesWaiterWithoutChannels: an ACL user without channel
// permissions (Redis 7 creates users so by default, acl-pubsub-default
// resetchannels) or refused SUBSCRIBE cannot hear a release. The first
// waiter in line must still take a released lease within about its claim
// grace, as it would after a message, instead of waiting out the whole TTL
// the holder's lease had left at its last attempt; the refusal is logged,
// once per locker, with Redis's reply.
func TestReleaseReachesWaiterWithoutChannels(t *testing.T) {
	for _, tc := range []struct{ name, deny string }{
		{"no channel permissions", "resetchannels"},
		{"SUBSCRIBE refused", "-subscribe"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := ctxTimeout(t, 60*time.Second)
			holderL, c, admin := aclLocker(t, ctx, "nochan", tc.deny)
			ps := c.Subscribe(ctx, "sw-test-channel")
			_, err := ps.ReceiveTimeout(ctx, 2*time.Second)
			ps.Close()
			if err == nil {
				t.Fatal("SUBSCRIBE allowed under the ACL; the test needs it refused")
			}
			t.Logf("SUBSCRIBE: %v", err)
			logs := &recordedLogs{}
			waiterL := NewRedisLocker(c, holderL.volumeID, Logger(slog.New(logs)))
			defer waiterL.Close()
			const key, ttl = "a/b.json", 20 * time.Second

			holder, err := holderL.Acquire(ctx, key, ttl)
			if err != nil {
				t.Fatal(err)
			}
			got := make(chan error, 1)
			var obtained time.Time
			go func() {
				le, err := waiterL.Acquire(ctxTimeout(t, 15*time.Second), key, ttl)
				obtained = time.Now()
				if err == nil {
					le.Release(context.Background(), nil, key)
				}
				got <- err
			}()
			waitUntil(t, 5*time.Second, "the waiter is in line", func() bool {
				n, _ := admin.ZCard(ctx, holderL.Keys(key).Queue).Result()
				return n == 1
			})
			time.Sleep(300 * time.Millisecond) // the waiter is in its wait
			released := time.Now()
			if err := holder.Release(ctx, nil, key); err != nil {
				t.Fatal(err)
			}
			if err := <-got; err != nil {
				t.Fatalf("waiter after the release: %v", err)
			}
			took := obtained.Sub(released)
			t.Logf("waiter took the lease %v after the release", took)
			if took > 3*time.Second {
				t.Errorf("waiter took the lease %v after the release; want within a few claim graces (the holder's lease had %v left)", took, ttl)
			}
			said := logs.matching("SUBSCRIBE")
			if len(said) != 1 || !strings.Contains(said[0], "NOPERM") {
				t.Errorf("logged about the refused SUBSCRIBE: %q; want one warning with Redis's NOPERM reply", said)
			}
		})
	}
}
