package locking

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestWaitEndsOnRelease(t *testing.T) {
	r := needRedis(t)
	l := NewRedisLocker(testClient(t, r.Addr()), uniqueVolume(t))
	ctx := ctxTimeout(t, 30*time.Second)
	holder, err := l.Acquire(ctx, "k", 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		time.Sleep(100 * time.Millisecond)
		holder.Release(context.Background(), nil, "k")
	}()
	start := time.Now()
	// The holder's TTL is 20s: obtaining within 5s shows the waiter woke on
	// the release message, not on the holder's PTTL.
	le, err := l.Acquire(ctxTimeout(t, 5*time.Second), "k", time.Second)
	if err != nil {
		t.Fatalf("Acquire while the holder released after 100ms: %v", err)
	}
	t.Logf("obtained %v after the wait began", time.Since(start))
	le.Release(ctx, nil, "k")
}

func TestAcquireDeadline(t *testing.T) {
	r := needRedis(t)
	l := NewRedisLocker(testClient(t, r.Addr()), uniqueVolume(t))
	ctx := ctxTimeout(t, 30*time.Second)
	holder, err := l.Acquire(ctx, "k", 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Release(ctx, nil, "k")
	const deadline = 300 * time.Millisecond
	start := time.Now()
	_, err = l.Acquire(ctxTimeout(t, deadline), "k", time.Second)
	took := time.Since(start)
	if !errors.Is(err, ErrNotObtained) || errors.Is(err, ErrUnavailable) {
		t.Fatalf("Acquire while held: %v; want ErrNotObtained", err)
	}
	var he *HolderError
	if !errors.As(err, &he) || he.Lease != holder.ID() {
		t.Fatalf("error %v does not name the holder %q", err, holder.ID())
	}
	if took < deadline-5*time.Millisecond || took > deadline+500*time.Millisecond {
		t.Fatalf("Acquire returned after %v; want about the %v deadline", took, deadline)
	}
	// The waiter that gave up leaves the queue.
	for i := 0; ; i++ {
		n, err := l.client.ZCard(ctx, l.Keys("k").Queue).Result()
		if err == nil && n == 0 {
			break
		}
		if i == 100 {
			t.Fatalf("queue holds %d entries 1s after the waiter gave up; want 0", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// A deadline longer than the holder's TTL is not capped: a holder that
	// stops refreshing is taken over when it expires.
	short, err := l.Acquire(ctx, "k2", 300*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	short.Abandon()
	le, err := l.Acquire(ctxTimeout(t, 3*time.Second), "k2", time.Second)
	if err != nil {
		t.Fatalf("Acquire with a deadline past the holder's TTL: %v", err)
	}
	le.Release(ctx, nil, "k2")
}

func TestMeasureHandoff(t *testing.T) {
	r := needRedis(t)
	st, err := MeasureHandoff(ctxTimeout(t, 30*time.Second), NewRedisLocker(testClient(t, r.Addr()), uniqueVolume(t)), "k", 3, time.Millisecond, time.Millisecond, 300*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	sum := 0
	for _, n := range st.PerWorker {
		sum += n
	}
	if st.Acquisitions == 0 || sum != st.Acquisitions || st.SerialPeriod < time.Millisecond || st.WaitMax < st.WaitP50 {
		t.Fatalf("stats %+v inconsistent", st)
	}
	t.Logf("%+v", st)
}

// TestWaitersServedInArrivalOrder: waiters that arrive one after another get
// the lease in that order. Each starts once the one before it is queued and
// subscribed; the claim grace is lengthened to 2 s so that a first in line
// slow to wake on a loaded machine still has its turn (a waiter served out
// of order within that is a fault, not a timing accident).
func TestWaitersServedInArrivalOrder(t *testing.T) {
	l, log := loggedLocker(t)
	l.setQueueGrace(2 * time.Second)
	ctx := ctxTimeout(t, 60*time.Second)
	holder, err := l.Acquire(ctx, "k", 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	const n = 4
	got := queueWaiters(t, ctx, l, log, "k", n)
	// Arrival order: the order of each waiter's first attempt.
	var arrival []string
	for _, a := range log.since(0) {
		if a.id != holder.ID() && !slices.Contains(arrival, a.id) {
			arrival = append(arrival, a.id)
		}
	}
	if len(arrival) != n {
		t.Fatalf("%d waiters attempted; want %d", len(arrival), n)
	}
	holder.Release(ctx, nil, "k")
	for turn, want := range arrival {
		le := receiveLease(t, got, 10*time.Second, fmt.Sprintf("turn %d", turn))
		if le.ID() != want {
			t.Fatalf("turn %d went to %s; want %s (arrival order %q)", turn, le.ID(), want, arrival)
		}
		time.Sleep(5 * time.Millisecond)
		le.Release(ctx, nil, "k")
	}
}

// TestDeadWaiterSkipped: a waiter that queued and then vanished delays the
// next one by the queue grace only, not by the lease TTL.
func TestDeadWaiterSkipped(t *testing.T) {
	r := needRedis(t)
	l := NewRedisLocker(testClient(t, r.Addr()), uniqueVolume(t))
	ctx := ctxTimeout(t, 30*time.Second)
	holder, err := l.Acquire(ctx, "k", 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	// One attempt queues the "dead" waiter; it never retries.
	if res, err := l.acquireOnce(ctx, l.Keys("k"), "dead/1/waiter", 10*time.Second); err != nil || res.ok {
		t.Fatalf("dead waiter's attempt: %+v %v; want queued", res, err)
	}
	holder.Release(ctx, nil, "k")
	start := time.Now()
	le, err := l.Acquire(ctxTimeout(t, 5*time.Second), "k", time.Second)
	if err != nil {
		t.Fatalf("Acquire behind a dead waiter: %v", err)
	}
	t.Logf("obtained %v after the release, behind a dead waiter (grace %v)", time.Since(start), queueGrace)
	le.Release(ctx, nil, "k")
	if n, _ := l.client.ZCard(ctx, l.Keys("k").Queue).Result(); n != 0 {
		t.Fatalf("queue holds %d entries after the last waiter left; want 0", n)
	}
}

// TestLockersOfOneProcessExclude: two lockers of one process on one volume
// (two coordinators opened on it) contend for a key from several goroutines
// each. A release hands the lease to a waiter of either; at no moment do two
// holders overlap, and every acquisition ends in a release that finds its
// lease still held.
func TestLockersOfOneProcessExclude(t *testing.T) {
	r := needRedis(t)
	vol := uniqueVolume(t)
	ctx := ctxTimeout(t, 60*time.Second)
	lockers := []*RedisLocker{NewRedisLocker(testClient(t, r.Addr()), vol), NewRedisLocker(testClient(t, r.Addr()), vol)}
	for _, l := range lockers {
		t.Cleanup(func() { l.Close() })
	}
	const goroutines, rounds = 3, 25
	var inside, most, total atomic.Int64
	var wg sync.WaitGroup
	for _, l := range lockers {
		for range goroutines {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range rounds {
					le, err := l.Acquire(ctx, "k", 5*time.Second)
					if err != nil {
						t.Error(err)
						return
					}
					n := inside.Add(1)
					for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
					}
					time.Sleep(time.Millisecond)
					inside.Add(-1)
					total.Add(1)
					if err := le.Release(ctx, nil, "k"); err != nil {
						t.Errorf("release: %v; want the lease still held", err)
					}
				}
			}()
		}
	}
	wg.Wait()
	if most.Load() != 1 {
		t.Errorf("%d holders at once; want 1", most.Load())
	}
	if got, want := total.Load(), int64(2*goroutines*rounds); got != want {
		t.Errorf("%d acquisitions; want %d", got, want)
	}
}
