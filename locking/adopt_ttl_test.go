package locking

import (
	"testing"
	"time"
)

// An adopting child with a shorter TTL than its parent's (`lock NAME -- CMD`
// running `sharedwrite write NAME` with its own --lease-ttl) does not shorten
// the parent's lease in Redis: after the child is done, no other locker can
// take the key while the parent still counts on it.
func TestAdoptShorterTTLKeepsParentLease(t *testing.T) {
	r := needRedis(t)
	vol := uniqueVolume(t)
	l := NewRedisLocker(testClient(t, r.Addr()), vol)
	other := NewRedisLocker(testClient(t, r.Addr()), vol)
	t.Cleanup(func() { l.Close(); other.Close() })
	ctx := ctxTimeout(t, 20*time.Second)

	parent, err := l.Acquire(ctx, "k", 9*time.Second) // refreshed every 3 s
	if err != nil {
		t.Fatal(err)
	}
	defer parent.Release(ctx, nil, "k")
	child, err := l.Adopt(ctx, "k", parent.ID(), parent.Token(), 300*time.Millisecond)
	if err != nil {
		t.Fatalf("Adopt: %v", err)
	}
	child.Release(ctx, nil, "k") // the child's write is done; its lease kept for the parent

	time.Sleep(600 * time.Millisecond)
	octx := ctxTimeout(t, 500*time.Millisecond)
	le, err := other.Acquire(octx, "k", 5*time.Second)
	if err == nil {
		defer le.Release(ctx, nil, "k")
		t.Fatalf("another locker obtained the key (token %d) while the parent still holds it: parent Err=%v Remaining=%v token %d",
			le.Token(), parent.Err(), parent.Remaining(), parent.Token())
	}
}

// The other direction: the parent's refreshes with its shorter TTL do not cut
// back the lease an adopting child extended to its own, longer TTL. When the
// parent is killed (its CMD, and the child inside it, keep running), no other
// locker takes the key while the child still counts on it.
func TestAdoptLongerTTLOutlivesParent(t *testing.T) {
	r := needRedis(t)
	vol := uniqueVolume(t)
	l := NewRedisLocker(testClient(t, r.Addr()), vol)
	other := NewRedisLocker(testClient(t, r.Addr()), vol)
	t.Cleanup(func() { l.Close(); other.Close() })
	ctx := ctxTimeout(t, 20*time.Second)

	parent, err := l.Acquire(ctx, "k", 300*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	child, err := l.Adopt(ctx, "k", parent.ID(), parent.Token(), 9*time.Second)
	if err != nil {
		t.Fatalf("Adopt: %v", err)
	}
	defer child.Abandon()
	if err := parent.Refresh(ctx); err != nil { // the parent's watchdog, as every TTL/3
		t.Fatal(err)
	}
	parent.Abandon() // the parent process is killed: no more refreshes, no release

	time.Sleep(600 * time.Millisecond)
	octx := ctxTimeout(t, 500*time.Millisecond)
	le, err := other.Acquire(octx, "k", 5*time.Second)
	if err == nil {
		defer le.Release(ctx, nil, "k")
		t.Fatalf("another locker obtained the key (token %d) while the adopting child still holds it: child Err=%v Remaining=%v",
			le.Token(), child.Err(), child.Remaining())
	}
}
