package locking

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestWaitWithoutSubscription: a waiter subscribes to the release channel
// before it retries, but when Redis never confirms the subscription (here an
// ACL that refuses SUBSCRIBE; likewise a pub/sub connection that hangs) the
// waiter must still take over once the holder's lease has expired, waiting
// on the holder's PTTL, instead of waiting for the confirmation until its
// deadline.
func TestWaitWithoutSubscription(t *testing.T) {
	ctx := ctxTimeout(t, 20*time.Second)
	l, _, _ := aclLocker(t, ctx, "nosub", "-subscribe")

	holder, err := l.Acquire(ctx, "k", 300*time.Millisecond)
	if err != nil {
		t.Fatalf("holder Acquire: %v", err)
	}
	holder.Abandon() // expires by its TTL, with no release message

	const deadline = 5 * time.Second
	start := time.Now()
	wctx, cancel := context.WithTimeout(ctx, deadline)
	defer cancel()
	le, err := l.Acquire(wctx, "k", time.Second)
	took := time.Since(start)
	if err != nil {
		t.Fatalf("waiter Acquire after the holder's 300ms lease expired: %v after %v; want the lease (subscription refused: wait on the PTTL)", err, took)
	}
	defer le.Release(context.Background(), nil, "k")
	t.Logf("took over after %v", took)
	if took > deadline/2 {
		t.Errorf("waiter took %v to take over a lease that expired after 300ms; want well before its %v deadline", took, deadline)
	}
}

// TestHandoffWithoutPubsubCommand: under an ACL that refuses PUBSUB (which
// the release script asks whether the first waiter's locker listens), the
// release still succeeds and names the waiter, which claims the lease.
func TestHandoffWithoutPubsubCommand(t *testing.T) {
	ctx := ctxTimeout(t, 20*time.Second)
	l, c, admin := aclLocker(t, ctx, "nopubsub", "-pubsub")
	if err := c.Do(ctx, "PUBSUB", "NUMSUB", "x").Err(); err == nil {
		t.Fatal("PUBSUB allowed under the ACL; the test needs it refused")
	}
	holder, err := l.Acquire(ctx, "k", 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan Lease, 1)
	go func() {
		le, err := l.Acquire(ctx, "k", 20*time.Second)
		if err != nil {
			t.Error(err)
		}
		got <- le
	}()
	waitUntil(t, 5*time.Second, "the waiter is in line", func() bool {
		n, _ := admin.ZCard(ctx, l.Keys("k").Queue).Result()
		return n == 1
	})
	waitUntil(t, 5*time.Second, "the waiter's subscription is confirmed", func() bool {
		n, ok := hubWaiters(l, wakeChannel(l, "k"))
		return n == 1 && ok
	})
	if err := holder.Release(ctx, nil, "k"); err != nil {
		t.Fatalf("release under an ACL without PUBSUB: %v", err)
	}
	select {
	case le := <-got:
		if le == nil {
			t.Fatal("waiter's Acquire failed")
		}
		le.Release(context.Background(), nil, "k")
	case <-time.After(5 * time.Second):
		t.Fatal("waiter did not get the lease within 5s of the release (its holder's TTL is 20s)")
	}
}

// aclLocker returns a locker whose client logs in as a new ACL user (name
// plus a time stamp) allowed everything but deny, that client, and an admin
// client. The user is deleted when the test ends.
func aclLocker(t *testing.T, ctx context.Context, name, deny string) (*RedisLocker, *redis.Client, *redis.Client) {
	t.Helper()
	r := needRedis(t)
	admin := testClient(t, r.Addr())
	user := name + "-" + time.Now().Format("150405.000000000")
	if err := admin.Do(ctx, "ACL", "SETUSER", user, "on", ">pw", "~*", "&*", "+@all", deny).Err(); err != nil {
		t.Skip("ACL SETUSER:", err)
	}
	t.Cleanup(func() { admin.Do(context.Background(), "ACL", "DELUSER", user) })
	c := redis.NewClient(&redis.Options{Addr: r.Addr(), Username: user, Password: "pw", DisableIdentity: true, MaxRetries: -1, ContextTimeoutEnabled: true})
	t.Cleanup(func() { c.Close() })
	l := NewRedisLocker(c, uniqueVolume(t))
	t.Cleanup(func() { l.Close() })
	return l, c, admin
}
