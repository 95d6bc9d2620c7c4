package locking

import (
	"errors"
	"testing"
	"time"
)

// TestLeaseWaitNotCappedAtTTL: a waiter asking for a short TTL, behind a
// holder that keeps its lease alive, waits until its own deadline, not until
// its TTL or the holder's TTL.
func TestLeaseWaitNotCappedAtTTL(t *testing.T) {
	r := needRedis(t)
	vol := uniqueVolume(t)
	holder := NewRedisLocker(testClient(t, r.Addr()), vol)
	ctx := ctxTimeout(t, 20*time.Second)
	le, err := holder.Acquire(ctx, "k", 300*time.Millisecond) // refreshed by its watchdog
	if err != nil {
		t.Fatal(err)
	}
	defer le.Release(ctx, nil, "k")
	w := NewRedisLocker(testClient(t, r.Addr()), vol)
	defer w.Close()
	const deadline = 1500 * time.Millisecond
	start := time.Now()
	_, err = w.Acquire(ctxTimeout(t, deadline), "k", 100*time.Millisecond)
	took := time.Since(start)
	t.Logf("after %v: %v", took, err)
	if !errors.Is(err, ErrNotObtained) || errors.Is(err, ErrUnavailable) {
		t.Fatalf("Acquire while held: %v; want ErrNotObtained", err)
	}
	if took < deadline-10*time.Millisecond || took > deadline+500*time.Millisecond {
		t.Fatalf("Acquire returned after %v; want about its %v deadline", took, deadline)
	}
	if le.Err() != nil {
		t.Fatalf("holder lost its lease: %v", le.Err())
	}
}
