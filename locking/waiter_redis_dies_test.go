package locking

import (
	"errors"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
)

// A waiter told "held" whose Redis dies shortly before its deadline (so that
// the deadline passes while the client is still redialling a server that
// refuses connections) reports ErrUnavailable (exit 6), not ErrNotObtained
// naming the holder (exit 3): the last thing Redis said is no longer "held",
// it is that it is gone.
func TestWaiterRedisDiesJustBeforeTheDeadlineIsUnavailable(t *testing.T) {
	r := testrig.StartRedis(t)
	vol := uniqueVolume(t)
	holder := NewRedisLocker(testClient(t, r.Addr()), vol)
	defer holder.Close()
	le, err := holder.Acquire(ctxTimeout(t, 5*time.Second), "k", 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer le.Abandon()

	waiter := NewRedisLocker(testClient(t, r.Addr()), vol)
	defer waiter.Close()
	const (
		deadline = 1500 * time.Millisecond
		// Less than the client's dial retries take (go-redis: 5 dials, 100 ms
		// apart), so that the deadline passes while they run.
		killBefore = 250 * time.Millisecond
	)
	killed := time.AfterFunc(deadline-killBefore, r.Kill)
	defer killed.Stop()
	start := time.Now()
	_, err = waiter.Acquire(ctxTimeout(t, deadline), "k", 20*time.Second)
	took := time.Since(start)
	t.Logf("after %v: %v", took.Round(time.Millisecond), err)
	if took > deadline+2*time.Second {
		t.Errorf("Acquire took %v with a %v deadline", took.Round(time.Millisecond), deadline)
	}
	if !errors.Is(err, ErrUnavailable) || errors.Is(err, ErrNotObtained) {
		t.Errorf("Acquire whose Redis died %v before its deadline (refusing connections from then on): %v; want ErrUnavailable (exit 6), not ErrNotObtained (exit 3)", killBefore, err)
	}
}
