//go:build linux

package cli

import (
	"context"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sharedwrite/sharedwrite/coordinator"
	"github.com/sharedwrite/sharedwrite/internal/quote"
	"github.com/sharedwrite/sharedwrite/internal/testrig"
	"github.com/sharedwrite/sharedwrite/internal/testrig/faultfs"
	"github.com/sharedwrite/sharedwrite/locking"
)

// hangVolume makes every operation on f wait until the returned release is
// called (also on cleanup, before the unmount): a file server that stops
// answering, and answers again at release. hung is closed once an operation
// waits.
func hangVolume(t *testing.T, f *faultfs.FS) (hung <-chan struct{}, release func()) {
	t.Helper()
	gate, waiting := make(chan struct{}), make(chan struct{})
	var once, opened sync.Once
	// Match is called with the filesystem's lock held: one operation that
	// waits there holds up all the others.
	f.Set(faultfs.Fault{Op: faultfs.OpAny, Match: func(string) bool {
		opened.Do(func() { close(waiting) })
		<-gate
		return false
	}})
	release = func() {
		once.Do(func() {
			close(gate)
			f.Clear()
		})
	}
	t.Cleanup(release)
	return waiting, release
}

// TestBenchCleanupAfterSignalHungVolume: the volume stops answering, and a
// signal comes before the bench's clean-up starts or while it waits for the
// volume. The clean-up ends within a few graces of the signal, not after
// --timeout (a minute), and says that the bench's directory is left, the
// volume not answering; in Redis mode it still deletes the names' keys, Redis
// answering.
func TestBenchCleanupAfterSignalHungVolume(t *testing.T) {
	// Two graces (the clean-up's, then the call's) and ample slack: far
	// below --timeout.
	const within = 6 * time.Second
	for _, c := range []struct {
		name   string
		before bool // the signal comes before the clean-up starts
		redis  bool
	}{
		{"local/signal before", true, false},
		{"local/signal during", false, false},
		{"redis/signal before", true, true},
		{"redis/signal during", false, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := faultfs.Mount(t, faultfs.Options{})
			logger, err := newLogger(io.Discard, "text", "error")
			if err != nil {
				t.Fatal(err)
			}
			g := &globals{root: f.Dir, leaseTTL: defaultLeaseTTL, timeout: time.Minute, logger: logger,
				stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard}
			var rc *redis.Client
			if c.redis {
				r := testrig.StartRedis(t)
				g.redisURL, rc = r.URL(), r.Client(t)
				if _, err := coordinator.InitVolume(context.Background(), f.Dir, rc); err != nil {
					t.Fatal(err)
				}
			}
			v := &volumeCalls{timeout: g.timeout}
			root, err := os.OpenRoot(f.Dir)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { root.Close() })
			env, err := newBenchEnv(g, v)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(env.Close)
			dir := "sharedwrite-bench-" + randomHex(4)
			if err := root.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			// As bench does: on a volume, the coordinators use its root;
			// on a root that holds none (local mode here), the bench's
			// directory.
			base, croot := dir, f.Dir
			if !c.redis {
				env.sub, base, croot = dir, ".", filepath.Join(f.Dir, dir)
			}
			if err := env.open(context.Background(), croot, 2); err != nil {
				t.Fatal(err)
			}
			names := []string{"coordinated", "key-0"}
			for i, co := range env.coords {
				if err := co.WriteFile(context.Background(), path.Join(base, names[i]), []byte("x"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			// The names' keys that exist in Redis.
			var stored []string
			for _, n := range names {
				if c.redis {
					stored = append(stored, locking.RedisKeys(env.coords[0].VolumeID(), path.Join(base, n)).Stored()...)
				}
			}
			redisKeys := func() []string {
				var left []string
				for _, k := range stored {
					if n, err := rc.Exists(context.Background(), k).Result(); err != nil {
						t.Fatal(err)
					} else if n > 0 {
						left = append(left, k)
					}
				}
				return left
			}
			if c.redis && len(redisKeys()) == 0 {
				t.Fatalf("none of the Redis keys %q after the writes; want some for the clean-up to delete", stored)
			}

			hung, release := hangVolume(t, f)
			ctx, interrupt := context.WithCancel(context.Background())
			defer interrupt()
			if c.before {
				interrupt()
			}
			start := time.Now()
			done := make(chan error, 1)
			go func() { done <- env.cleanup(ctx, root, dir, base, names) }()
			if !c.before {
				select {
				case <-hung:
				case err := <-done:
					release()
					t.Fatalf("cleanup returned %v before the volume was asked anything; want it waiting for the volume", err)
				}
				start = time.Now()
				interrupt()
			}
			var cerr error
			select {
			case cerr = <-done:
			case <-time.After(within):
				release()
				cerr = <-done
				t.Fatalf("cleanup still waiting for the volume %v after the signal (--timeout %v); returned %v once the volume answered",
					within, g.timeout, cerr)
			}
			took := time.Since(start)
			keys := redisKeys()
			release()
			if cerr == nil || !strings.Contains(cerr.Error(), quote.Name(dir)) || !strings.Contains(cerr.Error(), "did not answer") || v.stuck() == nil {
				t.Errorf("cleanup after %v: %v (volume stuck: %v); want an error naming %s as left, the volume not answering",
					took.Round(time.Millisecond), cerr, v.stuck(), quote.Name(dir))
			}
			if len(keys) > 0 || cerr != nil && strings.Contains(cerr.Error(), "Redis") {
				t.Errorf("cleanup after a signal left Redis keys %q: %v; want them deleted, Redis answering", keys, cerr)
			}
			t.Logf("cleanup returned %v after the signal: %v", took.Round(time.Millisecond), cerr)
		})
	}
}
