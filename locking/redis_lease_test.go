package locking

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestTokensStrictlyIncrease(t *testing.T) {
	r := needRedis(t)
	l := NewRedisLocker(testClient(t, r.Addr()), uniqueVolume(t))
	ctx := ctxTimeout(t, 30*time.Second)
	var last uint64
	for i := 0; i < 5; i++ {
		le, err := l.Acquire(ctx, "k", time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if le.Token() <= last {
			t.Fatalf("token %d after %d; want strictly greater", le.Token(), last)
		}
		last = le.Token()
		if err := le.Release(ctx, nil, "k"); err != nil {
			t.Fatal(err)
		}
	}
	// A holder that lets its lease expire (abandoned, TTL 200ms): the next
	// holder takes over without a release message, with a greater token.
	le, err := l.Acquire(ctx, "k", 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	expired := le.Token()
	le.Abandon()
	start := time.Now()
	le2, err := l.Acquire(ctx, "k", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("took over an expired holder after %v", time.Since(start))
	if le2.Token() <= expired {
		t.Fatalf("token after expiry %d; want > %d", le2.Token(), expired)
	}
	le2.Release(ctx, nil, "k")
}

func TestAcquireIdempotent(t *testing.T) {
	r := needRedis(t)
	c := testClient(t, r.Addr())
	l := NewRedisLocker(c, uniqueVolume(t))
	ctx := ctxTimeout(t, 10*time.Second)
	keys := l.Keys("k")
	id := newLeaseID("host")
	first, err := l.acquireOnce(ctx, keys, id, 5*time.Second)
	if err != nil || !first.ok {
		t.Fatalf("first acquire: %+v %v", first, err)
	}
	// The same request again, as a retry after a lost reply would send it.
	second, err := l.acquireOnce(ctx, keys, id, 5*time.Second)
	if err != nil || !second.ok {
		t.Fatalf("retried acquire: %+v %v; want success", second, err)
	}
	if second.token != first.token {
		t.Fatalf("retried acquire token %d; want %d", second.token, first.token)
	}
	fence, err := c.Get(ctx, keys.Fence).Uint64()
	if err != nil || fence != first.token {
		t.Fatalf("fence = %d (%v); want %d (incremented once)", fence, err, first.token)
	}
	other, err := l.acquireOnce(ctx, keys, newLeaseID("host"), 5*time.Second)
	if err != nil || other.ok || other.holder != id {
		t.Fatalf("acquire by another lease: %+v %v; want refused, holder %q", other, err, id)
	}
}

func TestWatchdogDetectsLoss(t *testing.T) {
	r := needRedis(t)
	c := testClient(t, r.Addr())
	l := NewRedisLocker(c, uniqueVolume(t))
	for _, tc := range []struct {
		name   string
		tamper func(ctx context.Context, k Keys) error
	}{
		{"deleted", func(ctx context.Context, k Keys) error { return c.Del(ctx, k.Lock).Err() }},
		{"overwritten", func(ctx context.Context, k Keys) error { return c.Set(ctx, k.Lock, "other/1/x", time.Minute).Err() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := ctxTimeout(t, 30*time.Second)
			const ttl = 1500 * time.Millisecond
			le, err := l.Acquire(ctx, tc.name, ttl)
			if err != nil {
				t.Fatal(err)
			}
			defer le.Abandon()
			if err := tc.tamper(ctx, l.Keys(tc.name)); err != nil {
				t.Fatal(err)
			}
			tampered := time.Now()
			select {
			case <-le.Done():
			case <-time.After(ttl):
				t.Fatalf("Done not closed within the TTL %v after the key was %s", ttl, tc.name)
			}
			t.Logf("loss detected %v after the key was %s (refresh every %v)", time.Since(tampered), tc.name, ttl/3)
			if !errors.Is(le.Err(), ErrLeaseLost) {
				t.Fatalf("Err() = %v; want ErrLeaseLost", le.Err())
			}
			if got := context.Cause(le.Context()); !errors.Is(got, ErrLeaseLost) {
				t.Fatalf("context cause = %v; want ErrLeaseLost", got)
			}
			if le.Remaining() != 0 {
				t.Fatalf("Remaining after loss = %v; want 0", le.Remaining())
			}
		})
	}
}

func TestWatchdogKeepsLease(t *testing.T) {
	r := needRedis(t)
	c := testClient(t, r.Addr())
	l := NewRedisLocker(c, uniqueVolume(t))
	ctx := ctxTimeout(t, 10*time.Second)
	// A TTL of 1 s: the watchdog refreshes every 333 ms, so only a stall of
	// more than about 650 ms (not a loaded machine's usual hiccup) loses it.
	const ttl = time.Second
	le, err := l.Acquire(ctx, "k", ttl)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(3200 * time.Millisecond) // more than three TTLs
	if err := le.Err(); err != nil {
		t.Fatalf("lease after 3 TTLs with the watchdog: %v; want held", err)
	}
	if got, err := c.Get(ctx, l.Keys("k").Lock).Result(); err != nil || got != le.ID() {
		t.Fatalf("lock key = %q (%v); want %q", got, err, le.ID())
	}
	if rem := le.Remaining(); rem <= 0 || rem > ttl {
		t.Fatalf("Remaining = %v; want in (0, %v]", rem, ttl)
	}
	if err := le.Release(ctx, nil, "k"); err != nil {
		t.Fatal(err)
	}
	if n, _ := c.Exists(ctx, l.Keys("k").Lock).Result(); n != 0 {
		t.Fatalf("lock key exists after Release")
	}
	select {
	case <-le.Done():
	default:
		t.Fatalf("Done open after Release")
	}
	if !errors.Is(le.Err(), ErrNotHeld) {
		t.Fatalf("Err after Release = %v; want ErrNotHeld", le.Err())
	}
}

func TestReleasePublishesAndStoresCommitted(t *testing.T) {
	r := needRedis(t)
	c := testClient(t, r.Addr())
	l := NewRedisLocker(c, uniqueVolume(t))
	ctx := ctxTimeout(t, 10*time.Second)
	sub := c.Subscribe(ctx, l.Keys("a/b.json").ChangeChannel)
	defer sub.Close()
	if _, err := sub.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	le, err := l.Acquire(ctx, "a/b.json", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := le.Committed(); ok {
		t.Fatalf("Committed on a fresh key: ok; want none")
	}
	v := Version{Token: le.Token(), LeaseID: le.ID(), SHA256: [32]byte{1, 2, 3}, Size: 42, Length: 42, Host: "h", PID: 7, Time: time.Unix(1700000000, 5).UTC()}
	if err := le.Release(ctx, &v, "a/b.json"); err != nil {
		t.Fatal(err)
	}
	msg, err := sub.ReceiveMessage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ev Event
	if err := ev.UnmarshalJSON([]byte(msg.Payload)); err != nil {
		t.Fatalf("event %s: %v", msg.Payload, err)
	}
	if ev.Path != "a/b.json" || ev.Version != v {
		t.Fatalf("event = %+v; want path a/b.json and %+v", ev, v)
	}
	le2, err := l.Acquire(ctx, "a/b.json", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	got, ok := le2.Committed()
	if !ok || got != v {
		t.Fatalf("Committed on the next acquire = %+v, %v; want %+v", got, ok, v)
	}
	// An older version handed to a later release does not replace it.
	old := v
	old.Token = 0
	old.Size = 1
	le2.Release(ctx, &old, "a/b.json")
	le3, err := l.Acquire(ctx, "a/b.json", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := le3.Committed(); got != v {
		t.Fatalf("Committed after an older release = %+v; want %+v", got, v)
	}
	le3.Release(ctx, nil, "a/b.json")
}

func TestAdopt(t *testing.T) {
	r := needRedis(t)
	l := NewRedisLocker(testClient(t, r.Addr()), uniqueVolume(t))
	ctx := ctxTimeout(t, 10*time.Second)
	parent, err := l.Acquire(ctx, "k", 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	child, err := l.Adopt(ctx, "k", parent.ID(), parent.Token(), 2*time.Second)
	if err != nil {
		t.Fatalf("Adopt the parent's lease: %v", err)
	}
	if child.Token() != parent.Token() || child.ID() != parent.ID() {
		t.Fatalf("adopted lease %s/%d; want %s/%d", child.ID(), child.Token(), parent.ID(), parent.Token())
	}
	if err := child.Release(ctx, nil, "k"); err != nil {
		t.Fatal(err)
	}
	if err := parent.Refresh(ctx); err != nil {
		t.Fatalf("parent's lease after the adopted lease's Release: %v; want still held", err)
	}
	if _, err := l.Adopt(ctx, "k", "someone/1/else", 1, time.Second); !errors.Is(err, ErrNotHeld) {
		t.Fatalf("Adopt with another lease id: %v; want ErrNotHeld", err)
	}
	if err := parent.Release(ctx, nil, "k"); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Adopt(ctx, "k", parent.ID(), parent.Token(), time.Second); !errors.Is(err, ErrNotHeld) {
		t.Fatalf("Adopt after the owner released: %v; want ErrNotHeld", err)
	}
}

func TestCheckFloorAfterTakeover(t *testing.T) {
	r := needRedis(t)
	c := testClient(t, r.Addr())
	l := NewRedisLocker(c, uniqueVolume(t))
	ctx := ctxTimeout(t, 10*time.Second)
	le, err := l.Acquire(ctx, "k", 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer le.Abandon()
	if err := c.Set(ctx, l.Keys("k").Lock, "other/1/x", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	fence, _ := c.Get(ctx, l.Keys("k").Fence).Uint64()
	rec := Record{Floor: Floor{Token: le.Token() + 5, LeaseID: "other/1/x"}}
	if _, err := le.CheckFloor(ctx, rec); !errors.Is(err, ErrLeaseLost) {
		t.Fatalf("CheckFloor after another lease took the key: %v; want ErrLeaseLost", err)
	}
	if after, _ := c.Get(ctx, l.Keys("k").Fence).Uint64(); after != fence {
		t.Fatalf("fence moved from %d to %d for a lease that did not hold the key", fence, after)
	}
	if err := le.CheckCommit(Record{}); !errors.Is(err, ErrLeaseLost) {
		t.Fatalf("CheckCommit on a lost lease: %v; want ErrLeaseLost", err)
	}
}

func TestRedisKeysShareOneSlot(t *testing.T) {
	k := RedisKeys("vol{x}", "a/b")
	tag := func(s string) string { return s[strings.Index(s, "{")+1 : strings.Index(s, "}")] }
	for _, name := range []string{k.Lock, k.Token, k.Fence, k.Commit, k.Queue, k.QueueExpiry, k.ReleaseChannel, k.ChangeChannel} {
		if got, want := tag(name), "vol%7Bx%7D:"+KeyHash("a/b"); got != want {
			t.Fatalf("hash tag of %s = %q; want %q", name, got, want)
		}
	}
}
