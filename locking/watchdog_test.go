package locking

import (
	"testing"
	"time"
)

// TestWatchdogManyLeases holds leases with different TTLs at once, releasing
// some along the way (their ticks must not starve or stop the others' on the
// shared timer): every lease still held keeps its key past several TTLs. The
// TTLs are seconds, not milliseconds, so that a loaded machine running the race
// detector cannot miss a refresh (TTL/3) by scheduling delay alone.
func TestWatchdogManyLeases(t *testing.T) {
	r := needRedis(t)
	c := testClient(t, r.Addr())
	l := NewRedisLocker(c, uniqueVolume(t))
	ctx := ctxTimeout(t, 30*time.Second)
	// Out of order, so the shared timer is moved back and forth.
	ttls := []time.Duration{3 * time.Second, 1200 * time.Millisecond, 2 * time.Second, 1600 * time.Millisecond}
	var held []Lease
	for i, ttl := range ttls {
		le, err := l.Acquire(ctx, "k"+utoa(uint64(i)), ttl)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, le)
	}
	// A short-lived lease released at once leaves the timer armed early.
	short, err := l.Acquire(ctx, "short", 30*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if err := short.Release(ctx, nil, "short"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	if err := held[1].Release(ctx, nil, "k1"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(4 * time.Second) // past every TTL more than once
	for i, le := range held {
		if i == 1 {
			continue
		}
		if err := le.Err(); err != nil {
			t.Fatalf("lease %d (ttl %v): %v; want held", i, ttls[i], err)
		}
		key := "k" + utoa(uint64(i))
		if got, err := c.Get(ctx, l.Keys(key).Lock).Result(); err != nil || got != le.ID() {
			t.Fatalf("lock of %s = %q (%v); want %q", key, got, err, le.ID())
		}
		if err := le.Release(ctx, nil, key); err != nil {
			t.Fatal(err)
		}
	}
}
