package locking

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
)

// newLockDir opens the lock directory of a fresh root.
func newLockDir(t testing.TB, opts ...Option) (*os.Root, *LockDir) {
	t.Helper()
	root, err := os.OpenRoot(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { root.Close() })
	d, err := OpenLockDir(root, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return root, d
}

func openLocked(t testing.TB, d *LockDir, key string) *FileLock {
	t.Helper()
	fl, err := d.Open(key)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fl.Close() })
	if err := fl.Lock(ctxTimeout(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	return fl
}

// commitUnder writes floor and committed for le as a commit would.
func commitUnder(t testing.TB, fl *FileLock, le Lease) {
	t.Helper()
	v := Version{Token: le.Token(), LeaseID: le.ID(), Size: 1}
	if err := fl.WriteFloorPending(Floor{Token: le.Token(), LeaseID: le.ID()}, v); err != nil {
		t.Fatal(err)
	}
	if err := fl.WriteCommitted(v); err != nil {
		t.Fatal(err)
	}
}

// acquireRetrying acquires while a failover or restart settles.
func acquireRetrying(t testing.TB, l *RedisLocker, key string) Lease {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		le, err := l.Acquire(ctxTimeout(t, 2*time.Second), key, 5*time.Second)
		if err == nil {
			return le
		}
		if time.Now().After(deadline) {
			t.Fatalf("Acquire %s: %v", key, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// checkTokenBackwards runs the scenario: a lease commits on the volume with
// token t1, then lose(ctx) makes Redis forget the counter; the next lease gets
// a token not above the floor, CheckCommit refuses it, CheckFloor raises it
// past the floor and CheckCommit accepts it.
func checkTokenBackwards(t *testing.T, l *RedisLocker, lose func(ctx context.Context)) {
	t.Helper()
	ctx := ctxTimeout(t, 60*time.Second)
	_, d := newLockDir(t)
	const key = "shared/state.json"
	fl := openLocked(t, d, key)
	var first Lease
	for i := 0; i < 3; i++ { // push the counter up a little
		le := acquireRetrying(t, l, key)
		first = le
		if i < 2 {
			le.Release(ctx, nil, key)
		}
	}
	commitUnder(t, fl, first)
	if err := first.Release(ctx, nil, key); err != nil {
		t.Fatal(err)
	}
	floor := first.Token()

	lose(ctx)

	le := acquireRetrying(t, l, key)
	defer le.Release(ctx, nil, key)
	if le.Token() > floor {
		t.Fatalf("token after the counter was lost = %d; want ≤ floor %d (the scenario did not happen)", le.Token(), floor)
	}
	rec, err := fl.ReadRecord()
	if err != nil {
		t.Fatal(err)
	}
	if err := le.CheckCommit(rec); !errors.Is(err, ErrFenced) {
		t.Fatalf("CheckCommit with token %d under floor %d: %v; want ErrFenced", le.Token(), floor, err)
	}
	raised, err := le.CheckFloor(ctx, rec)
	if err != nil || !raised {
		t.Fatalf("CheckFloor: raised %v, %v; want raised", raised, err)
	}
	if le.Token() <= floor {
		t.Fatalf("token after CheckFloor = %d; want > floor %d", le.Token(), floor)
	}
	if err := le.CheckCommit(rec); err != nil {
		t.Fatalf("CheckCommit after raising: %v", err)
	}
	// The raised counter sticks: the next lease is above the floor too.
	tok := le.Token()
	le.Release(ctx, nil, key)
	next := acquireRetrying(t, l, key)
	defer next.Release(ctx, nil, key)
	if next.Token() <= tok {
		t.Fatalf("next token %d; want > %d", next.Token(), tok)
	}
	if raised, err := next.CheckFloor(ctx, rec); err != nil || raised {
		t.Fatalf("CheckFloor above the floor: raised %v, %v; want no change", raised, err)
	}
}

// checkWakeOnRelease: a waiter on a key held with a 5s TTL obtains it within
// 3s after the holder releases: the release message reached it.
func checkWakeOnRelease(t *testing.T, l *RedisLocker) {
	t.Helper()
	ctx := ctxTimeout(t, 30*time.Second)
	holder := acquireRetrying(t, l, "wake")
	if err := holder.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		le, err := l.Acquire(ctxTimeout(t, 3*time.Second), "wake", time.Second)
		if err == nil {
			le.Release(ctx, nil, "wake")
		}
		errc <- err
	}()
	time.Sleep(200 * time.Millisecond)
	if err := holder.Release(ctx, nil, "wake"); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatalf("waiter after the release: %v", err)
	}
}

func TestTokenBackwards(t *testing.T) {
	t.Run("restart", func(t *testing.T) {
		r := testrig.StartRedis(t)
		c := testClient(t, r.Addr())
		checkTokenBackwards(t, NewRedisLocker(c, "vol"), func(context.Context) {
			if err := r.Restart(); err != nil {
				t.Fatal(err)
			}
		})
	})
	t.Run("counter-set-lower", func(t *testing.T) {
		r := needRedis(t)
		c := testClient(t, r.Addr())
		l := NewRedisLocker(c, uniqueVolume(t))
		checkTokenBackwards(t, l, func(ctx context.Context) {
			if err := c.Set(ctx, l.Keys("shared/state.json").Fence, 1, 0).Err(); err != nil {
				t.Fatal(err)
			}
		})
	})
	t.Run("cluster-node-restart", func(t *testing.T) {
		rc := testrig.StartRedisCluster(t)
		c, err := NewClient("redis+cluster://" + rc.Addrs()[0] + "," + rc.Addrs()[1] + "," + rc.Addrs()[2])
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		l := NewRedisLocker(c, "vol")
		checkWakeOnRelease(t, l)
		checkTokenBackwards(t, l, func(ctx context.Context) {
			// Restart, empty, the master that owns the key's slot.
			cc := c.(*redis.ClusterClient)
			m, err := cc.MasterForKey(ctx, l.Keys("shared/state.json").Fence)
			if err != nil {
				t.Fatal(err)
			}
			addr := m.Options().Addr
			for _, n := range rc.Nodes {
				if n.Addr() == addr {
					if err := n.Restart(); err != nil {
						t.Fatal(err)
					}
				}
			}
		})
	})
	t.Run("sentinel-failover", func(t *testing.T) {
		s := testrig.StartRedisSentinel(t)
		c, err := NewClient(s.URL())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		l := NewRedisLocker(c, "vol")
		checkWakeOnRelease(t, l)
		checkTokenBackwards(t, l, func(ctx context.Context) {
			s.Failover(t)
			// Asynchronous replication can lose the last writes in a failover;
			// make that loss certain by dropping the counter on the new master.
			deadline := time.Now().Add(20 * time.Second)
			for {
				err := c.Del(ctx, l.Keys("shared/state.json").Fence).Err()
				if err == nil {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("DEL the counter on the new master: %v", err)
				}
				time.Sleep(100 * time.Millisecond)
			}
		})
	})
}

func TestRedisOutage(t *testing.T) {
	r := testrig.StartRedis(t)
	c := testClient(t, r.Addr())
	l := NewRedisLocker(c, "vol")
	ctx := ctxTimeout(t, 60*time.Second)

	t.Run("killed-while-held", func(t *testing.T) {
		const ttl = time.Second
		le, err := l.Acquire(ctx, "k", ttl)
		if err != nil {
			t.Fatal(err)
		}
		acquired := time.Now()
		r.Kill()
		select {
		case <-le.Done():
		case <-time.After(ttl + 2*time.Second):
			t.Fatalf("Done not closed %v after Redis was killed (TTL %v)", time.Since(acquired), ttl)
		}
		took := time.Since(acquired)
		t.Logf("lease lost %v after acquisition with Redis down (validity %v)", took, validity(ttl))
		if took > ttl+200*time.Millisecond {
			t.Fatalf("lease declared lost after %v; want by the end of its validity %v", took, validity(ttl))
		}
		if !errors.Is(le.Err(), ErrLeaseLost) {
			t.Fatalf("Err = %v; want ErrLeaseLost", le.Err())
		}
	})
	t.Run("acquire-while-down", func(t *testing.T) {
		const deadline = 500 * time.Millisecond
		start := time.Now()
		_, err := l.Acquire(ctxTimeout(t, deadline), "k", time.Second)
		took := time.Since(start)
		if !errors.Is(err, ErrUnavailable) || errors.Is(err, ErrNotObtained) {
			t.Fatalf("Acquire with Redis down: %v; want ErrUnavailable", err)
		}
		t.Logf("Redis down: %v", err)
		if took > deadline+300*time.Millisecond {
			t.Fatalf("Acquire with Redis down returned after %v; want within the %v deadline", took, deadline)
		}
	})
	t.Run("restarted", func(t *testing.T) {
		if err := r.Start(); err != nil {
			t.Fatal(err)
		}
		le, err := l.Acquire(ctxTimeout(t, 5*time.Second), "k", time.Second)
		if err != nil {
			t.Fatalf("Acquire after restart: %v", err)
		}
		le.Release(ctx, nil, "k")
	})
}
