package locking

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bsm/redislock"
	"github.com/redis/go-redis/v9"
)

func init() { helpers["hammer"] = helperHammer }

// hammer runs goroutines that each take the lease n times and, under it,
// enter a witness: INCR inside must return 1, or two holders overlapped.
// Prints "done <acquisitions> <overlaps>".
func hammer(ctx context.Context, c redis.UniversalClient, lock func(ctx context.Context) (release func(), err error), witness string, goroutines, n int) (acq, overlaps int64, err error) {
	var wg sync.WaitGroup
	var firstErr atomic.Value
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < n; i++ {
				release, err := lock(ctx)
				if err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				if v, err := c.Incr(ctx, witness).Result(); err != nil {
					firstErr.CompareAndSwap(nil, err)
				} else if v != 1 {
					atomic.AddInt64(&overlaps, 1)
				}
				time.Sleep(200 * time.Microsecond)
				if err := c.Decr(ctx, witness).Err(); err != nil {
					firstErr.CompareAndSwap(nil, err)
				}
				atomic.AddInt64(&acq, 1)
				release()
			}
		}()
	}
	wg.Wait()
	if e, ok := firstErr.Load().(error); ok {
		err = e
	}
	return acq, overlaps, err
}

func oursLock(l *RedisLocker, key string) func(ctx context.Context) (func(), error) {
	return func(ctx context.Context) (func(), error) {
		le, err := l.Acquire(ctx, key, 5*time.Second)
		if err != nil {
			return nil, err
		}
		return func() { _ = le.Release(ctx, nil, key) }, nil
	}
}

func helperHammer() error {
	c := redis.NewClient(&redis.Options{Addr: os.Getenv("REDIS_ADDR"), DisableIdentity: true, MaxRetries: -1})
	defer c.Close()
	l := NewRedisLocker(c, os.Getenv("VOLUME"))
	n, _ := strconv.Atoi(os.Getenv("N"))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	acq, ov, err := hammer(ctx, c, oursLock(l, "hammer"), os.Getenv("WITNESS"), 4, n)
	fmt.Printf("done %d %d\n", acq, ov)
	return err
}

func TestMutualExclusionAcrossProcesses(t *testing.T) {
	r := needRedis(t)
	vol := uniqueVolume(t)
	const procs, perGoroutine = 3, 40
	var ps []*helperProc
	for i := 0; i < procs; i++ {
		ps = append(ps, startHelper(t, "hammer", "REDIS_ADDR="+r.Addr(), "VOLUME="+vol, "N="+strconv.Itoa(perGoroutine), "WITNESS="+vol+":witness"))
	}
	var total int64
	for i, p := range ps {
		var acq, ov int64
		line := p.expect(t, "done ", 90*time.Second)
		if _, err := fmt.Sscanf(line, "done %d %d", &acq, &ov); err != nil {
			t.Fatalf("process %d said %q: %v", i, line, err)
		}
		if err := p.cmd.Wait(); err != nil {
			t.Fatalf("process %d: %v", i, err)
		}
		if ov != 0 {
			t.Errorf("process %d saw %d overlapping holders; want 0", i, ov)
		}
		total += acq
	}
	if want := int64(procs * 4 * perGoroutine); total != want {
		t.Fatalf("acquisitions = %d; want %d", total, want)
	}
}

// TestWitnessDetectsOverlap shows the witness can fail: without a lease,
// the same hammer sees overlapping holders.
func TestWitnessDetectsOverlap(t *testing.T) {
	r := needRedis(t)
	c := testClient(t, r.Addr())
	none := func(context.Context) (func(), error) { return func() {}, nil }
	_, ov, err := hammer(context.Background(), c, none, uniqueVolume(t)+":witness", 8, 20)
	if err != nil {
		t.Fatal(err)
	}
	if ov == 0 {
		t.Fatalf("overlaps without a lease = 0; want > 0 (the witness cannot detect overlaps)")
	}
}

// TestMutualExclusionRedislockParity runs the same witness under
// bsm/redislock, the baseline, and under our lease in one process.
func TestMutualExclusionRedislockParity(t *testing.T) {
	r := needRedis(t)
	c := testClient(t, r.Addr())
	vol := uniqueVolume(t)
	rl := redislock.New(c)
	baseline := func(ctx context.Context) (func(), error) {
		lk, err := rl.Obtain(ctx, vol+":rl", 5*time.Second, &redislock.Options{RetryStrategy: redislock.LinearBackoff(time.Millisecond)})
		if err != nil {
			return nil, err
		}
		return func() { _ = lk.Release(ctx) }, nil
	}
	for _, tc := range []struct {
		name string
		lock func(context.Context) (func(), error)
	}{
		{"redislock", baseline},
		{"ours", oursLock(NewRedisLocker(c, vol), "parity")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			acq, ov, err := hammer(ctxTimeout(t, 60*time.Second), c, tc.lock, vol+":"+tc.name, 6, 20)
			if err != nil {
				t.Fatal(err)
			}
			if ov != 0 || acq != 120 {
				t.Fatalf("acquisitions %d, overlaps %d; want 120, 0", acq, ov)
			}
		})
	}
}
