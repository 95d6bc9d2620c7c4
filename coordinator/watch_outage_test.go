package coordinator

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
)

// watchRedisPair opens a watcher coordinator on its own Redis A and a writer
// coordinator on another Redis B, both on root.
func watchRedisPair(t *testing.T, root string) (a *testrig.Redis, watcherC, writerC *Coordinator) {
	t.Helper()
	a = testrig.StartRedis(t)
	b := testrig.StartRedis(t)
	ctx := ctxT(t, time.Minute)
	ca := redis.NewClient(&redis.Options{Addr: a.Addr(), DisableIdentity: true, MaxRetries: -1})
	t.Cleanup(func() { ca.Close() })
	cb := redis.NewClient(&redis.Options{Addr: b.Addr(), DisableIdentity: true, MaxRetries: -1})
	t.Cleanup(func() { cb.Close() })
	if _, err := InitVolume(ctx, root, ca); err != nil {
		t.Fatal(err)
	}
	var err error
	watcherC, err = Open(ctx, root, WithRedis(ca))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { watcherC.Close() })
	writerC, err = Open(ctx, root, WithRedis(cb))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { writerC.Close() })
	return a, watcherC, writerC
}

// TestWatchPollsDuringRedisOutage: the watcher's Redis is down; versions
// committed meanwhile (through another Redis) are delivered by polling.
func TestWatchPollsDuringRedisOutage(t *testing.T) {
	root := t.TempDir()
	a, watcherC, writerC := watchRedisPair(t, root)
	ctx := ctxT(t, time.Minute)
	w := startWatch(t, watcherC, "cfg", WatchInterval(200*time.Millisecond))
	a.Kill()
	time.Sleep(300 * time.Millisecond)
	for i := 1; i <= 3; i++ {
		if err := writerC.WriteFile(ctx, "cfg", []byte(fmt.Sprintf("v%d", i)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	w.waitFor(t, 10*time.Second, `"v3" during the outage`, func(ch Change) bool { return string(ch.Data) == "v3" })
	checkOrder(t, w.got())
	if err := a.Start(); err != nil {
		t.Fatal(err)
	}
	if err := writerC.WriteFile(ctx, "cfg", []byte("v4"), 0o644); err != nil {
		t.Fatal(err)
	}
	w.waitFor(t, 10*time.Second, `"v4" after the outage`, func(ch Change) bool { return string(ch.Data) == "v4" })
	checkOrder(t, w.got())
}

// TestWatchStartsDuringRedisOutage: Watch started while its Redis is
// down starts, polls, and resubscribes once Redis is back.
func TestWatchStartsDuringRedisOutage(t *testing.T) {
	root := t.TempDir()
	a, watcherC, writerC := watchRedisPair(t, root)
	ctx := ctxT(t, time.Minute)
	if err := writerC.WriteFile(ctx, "cfg", []byte("v0"), 0o644); err != nil {
		t.Fatal(err)
	}
	a.Kill()
	begun := time.Now()
	w := startWatch(t, watcherC, "cfg", WatchInterval(200*time.Millisecond), WatchInitial())
	t.Logf("Watch started %v after the call", time.Since(begun))
	w.waitFor(t, 10*time.Second, "the initial version", func(ch Change) bool { return string(ch.Data) == "v0" })
	if err := writerC.WriteFile(ctx, "cfg", []byte("v1"), 0o644); err != nil {
		t.Fatal(err)
	}
	w.waitFor(t, 10*time.Second, `"v1" during the outage`, func(ch Change) bool { return string(ch.Data) == "v1" })
	checkOrder(t, w.got())
}

// TestWatchEndsWithCause: Watch returns the cause of its context's end,
// whether it was idle or in fn.
func TestWatchEndsWithCause(t *testing.T) {
	for _, m := range modes {
		t.Run(string(m), func(t *testing.T) {
			c := open(t, m, t.TempDir())
			wctx := ctxT(t, time.Minute)
			if err := c.WriteFile(wctx, "cfg", []byte("v0"), 0o644); err != nil {
				t.Fatal(err)
			}
			myCause := errors.New("test: stop watching")
			// idle
			ctx, cancel := context.WithCancelCause(context.Background())
			done := make(chan error, 1)
			go func() {
				done <- c.Watch(ctx, "cfg", func(context.Context, Change) error { return nil }, WatchInterval(50*time.Millisecond))
			}()
			time.Sleep(300 * time.Millisecond)
			cancel(myCause)
			select {
			case err := <-done:
				if !errors.Is(err, myCause) {
					t.Errorf("idle Watch returned %v; want the cause %v", err, myCause)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("idle Watch did not return")
			}
			// in fn, which returns nil once its ctx ends
			ctx, cancel = context.WithCancelCause(context.Background())
			in := make(chan struct{})
			go func() {
				done <- c.Watch(ctx, "cfg", func(fctx context.Context, ch Change) error {
					close(in)
					<-fctx.Done()
					return nil
				}, WatchInterval(50*time.Millisecond), WatchInitial())
			}()
			<-in
			// A newer version waits while fn runs.
			if err := c.WriteFile(wctx, "cfg", []byte("v1"), 0o644); err != nil {
				t.Fatal(err)
			}
			cancel(myCause)
			select {
			case err := <-done:
				if !errors.Is(err, myCause) {
					t.Errorf("Watch cancelled in fn returned %v; want the cause %v", err, myCause)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Watch did not return")
			}
		})
	}
}

// TestWatchSlowFn: fn blocks while many versions are committed; after
// it returns, the newest is delivered, never an old one, in order.
func TestWatchSlowFn(t *testing.T) {
	for _, m := range modes {
		t.Run(string(m), func(t *testing.T) {
			c := open(t, m, t.TempDir())
			ctx := ctxT(t, time.Minute)
			var mu sync.Mutex
			var got []Change
			first := make(chan struct{})
			release := make(chan struct{})
			var calls atomic.Int32
			wctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() {
				done <- c.Watch(wctx, "cfg", func(_ context.Context, ch Change) error {
					mu.Lock()
					got = append(got, ch)
					mu.Unlock()
					if calls.Add(1) == 1 {
						close(first)
						<-release
					}
					return nil
				}, WatchInterval(100*time.Millisecond), WatchInitial())
			}()
			if err := c.WriteFile(ctx, "cfg", []byte("v0"), 0o644); err != nil {
				t.Fatal(err)
			}
			select {
			case <-first:
			case <-time.After(10 * time.Second):
				t.Fatal("no first delivery")
			}
			for i := 1; i <= 20; i++ {
				if err := c.WriteFile(ctx, "cfg", []byte(fmt.Sprintf("v%d", i)), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			time.Sleep(1500 * time.Millisecond)
			close(release)
			deadline := time.Now().Add(10 * time.Second)
			for {
				mu.Lock()
				last := got[len(got)-1]
				mu.Unlock()
				if string(last.Data) == "v20" {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("v20 not delivered; got %s", describe(got))
				}
				time.Sleep(20 * time.Millisecond)
			}
			time.Sleep(300 * time.Millisecond)
			cancel()
			<-done
			mu.Lock()
			defer mu.Unlock()
			checkOrder(t, got)
			if len(got) != 2 {
				t.Logf("delivered %s", describe(got))
			}
		})
	}
}

// TestCancelInsideUpdateFn: the caller's ctx ends while fn runs and fn
// returns content anyway: nothing is committed, and the error is the cause,
// not a command failure.
func TestCancelInsideUpdateFn(t *testing.T) {
	for _, m := range modes {
		t.Run(string(m), func(t *testing.T) {
			root := t.TempDir()
			c := open(t, m, root)
			if err := c.WriteFile(ctxT(t, time.Minute), "cfg", []byte("orig"), 0o644); err != nil {
				t.Fatal(err)
			}
			myCause := errors.New("test: caller gave up")
			ctx, cancel := context.WithCancelCause(context.Background())
			err := c.Update(ctx, "cfg", func(old []byte, _ bool) ([]byte, error) {
				cancel(myCause)
				return []byte("changed"), nil
			})
			if err == nil || !errors.Is(err, myCause) {
				t.Errorf("Update cancelled in fn: %v; want an error wrapping the cause", err)
			}
			var cf *CommandFailedError
			if errors.As(err, &cf) {
				t.Errorf("Update cancelled in fn: %v is a CommandFailedError", err)
			}
			if got := readFile(t, filepath.Join(root, "cfg")); got != "orig" {
				t.Errorf("file = %q; want \"orig\"", got)
			}
			// InitOnce
			ctx, cancel = context.WithCancelCause(context.Background())
			out, err := c.InitOnce(ctx, "fresh", func(context.Context) ([]byte, error) {
				cancel(myCause)
				return []byte("gen"), nil
			})
			if err == nil || !errors.Is(err, myCause) {
				t.Errorf("InitOnce cancelled in gen: %q, %v; want an error wrapping the cause", out, err)
			}
			if _, serr := os.Stat(filepath.Join(root, "fresh")); !errors.Is(serr, os.ErrNotExist) {
				t.Errorf("InitOnce cancelled in gen created the file (stat: %v)", serr)
			}
			// Later operations work.
			if err := c.Update(ctxT(t, time.Minute), "cfg", func(old []byte, _ bool) ([]byte, error) { return append(old, '!'), nil }); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestInitOnceAfterRemoveRace: a file created by InitOnce and removed
// is created again by exactly one of several racing InitOnce callers.
func TestInitOnceAfterRemoveRace(t *testing.T) {
	for _, m := range modes {
		t.Run(string(m), func(t *testing.T) {
			root := t.TempDir()
			c := open(t, m, root)
			c2 := open(t, m, root)
			ctx := ctxT(t, time.Minute)
			if _, err := c.InitOnce(ctx, "cfg", func(context.Context) ([]byte, error) { return []byte("first"), nil }); err != nil {
				t.Fatal(err)
			}
			if err := c.Remove(ctx, "cfg"); err != nil {
				t.Fatal(err)
			}
			var gens atomic.Int32
			outs := make([]string, 8)
			var wg sync.WaitGroup
			for i := range outs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					cc := c
					if i%2 == 1 {
						cc = c2
					}
					data, err := cc.InitOnce(ctx, "cfg", func(context.Context) ([]byte, error) {
						gens.Add(1)
						time.Sleep(20 * time.Millisecond)
						return []byte(fmt.Sprintf("gen%d", i)), nil
					})
					if err != nil {
						t.Errorf("InitOnce %d: %v", i, err)
					}
					outs[i] = string(data)
				}()
			}
			wg.Wait()
			if n := gens.Load(); n != 1 {
				t.Errorf("generator ran %d times; want 1", n)
			}
			disk := readFile(t, filepath.Join(root, "cfg"))
			for i, o := range outs {
				if o != disk {
					t.Errorf("caller %d got %q; file holds %q", i, o, disk)
				}
			}
		})
	}
}
