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
	r := needRedis(t)
	admin := testClient(t, r.Addr())
	ctx := ctxTimeout(t, 20*time.Second)
	user := "nosub-" + time.Now().Format("150405.000000000")
	if err := admin.Do(ctx, "ACL", "SETUSER", user, "on", ">pw", "~*", "&*", "+@all", "-subscribe").Err(); err != nil {
		t.Skip("ACL SETUSER:", err)
	}
	t.Cleanup(func() { admin.Do(context.Background(), "ACL", "DELUSER", user) })
	c := redis.NewClient(&redis.Options{Addr: r.Addr(), Username: user, Password: "pw", DisableIdentity: true, MaxRetries: -1, ContextTimeoutEnabled: true})
	t.Cleanup(func() { c.Close() })
	l := NewRedisLocker(c, uniqueVolume(t))
	t.Cleanup(func() { l.Close() })

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
