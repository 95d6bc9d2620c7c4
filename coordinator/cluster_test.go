package coordinator

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
	"github.com/sharedwrite/sharedwrite/locking"
)

// openCluster opens two coordinators on one root through a Redis Cluster:
// one with a caller-made ClusterClient (WithRedis), one through the cluster URL.
func openCluster(t *testing.T) (root string, c1, c2 *Coordinator, rc *testrig.RedisCluster) {
	t.Helper()
	rc = testrig.StartRedisCluster(t)
	root = t.TempDir()
	ctx := ctxT(t, 30*time.Second)
	cl := rc.Client(t)
	if _, err := InitVolume(ctx, root, cl); err != nil {
		t.Fatalf("InitVolume via cluster: %v", err)
	}
	var err error
	c1, err = Open(ctx, root, WithRedis(cl))
	if err != nil {
		t.Fatalf("Open WithRedis(cluster): %v", err)
	}
	t.Cleanup(func() { c1.Close() })
	c2, err = Open(ctx, root, WithRedisURL(rc.URL()))
	if err != nil {
		t.Fatalf("Open WithRedisURL(%s): %v", rc.URL(), err)
	}
	t.Cleanup(func() { c2.Close() })
	if c1.Mode() != ModeRedis || c2.Mode() != ModeRedis {
		t.Fatalf("modes %s %s", c1.Mode(), c2.Mode())
	}
	return root, c1, c2, rc
}

func TestClusterOps(t *testing.T) {
	root, c1, c2, rc := openCluster(t)
	ctx := ctxT(t, 120*time.Second)

	// Many keys, spread over slots.
	for i := 0; i < 30; i++ {
		name := fmt.Sprintf("d%d/f%d", i%3, i)
		c := c1
		if i%2 == 1 {
			c = c2
		}
		if err := c.WriteFile(ctx, name, []byte(name), 0o644); err != nil {
			t.Fatalf("WriteFile %s: %v", name, err)
		}
		if got := readFile(t, filepath.Join(root, name)); got != name {
			t.Fatalf("%s = %q", name, got)
		}
	}
	// Concurrent Update from both coordinators on one key.
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := 0; i < 20; i++ {
		for _, c := range []*Coordinator{c1, c2} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- c.Update(ctx, "counter", increment)
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("Update: %v", err)
		}
	}
	if got := readFile(t, filepath.Join(root, "counter")); got != "40" {
		t.Fatalf("counter = %q; want 40", got)
	}
	// InitOnce: exactly one generator.
	var gens sync.Map
	var n int
	var mu sync.Mutex
	wg = sync.WaitGroup{}
	for i := 0; i < 10; i++ {
		c := c1
		if i%2 == 1 {
			c = c2
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			b, err := c.InitOnce(ctx, "init/once", func(context.Context) ([]byte, error) {
				mu.Lock()
				n++
				v := fmt.Sprintf("gen%d", n)
				mu.Unlock()
				return []byte(v), nil
			})
			if err != nil {
				t.Errorf("InitOnce: %v", err)
				return
			}
			gens.Store(string(b), true)
		}()
	}
	wg.Wait()
	cnt := 0
	gens.Range(func(k, v any) bool { cnt++; return true })
	if n != 1 || cnt != 1 {
		t.Fatalf("InitOnce: %d generations, %d distinct results; want 1, 1", n, cnt)
	}
	// Lock with nested WriteFile.
	if err := c1.Lock(ctx, "locked", func(ctx context.Context, info LeaseInfo) error {
		return c1.WriteFile(ctx, "locked", []byte("in lock"), 0o644)
	}); err != nil {
		t.Fatalf("Lock: %v", err)
	}
	// Remove.
	if err := c2.Remove(ctx, "d0/f0"); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, "d0/f0")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("after Remove: %v", err)
	}
	// Move inside the root (two keys, two slots).
	if err := c1.Move(ctx, filepath.Join(root, "d1/f1"), "moved/f1"); err != nil {
		t.Fatalf("Move: %v", err)
	}
	if got := readFile(t, filepath.Join(root, "moved/f1")); got != "d1/f1" {
		t.Fatalf("moved = %q", got)
	}
	// Move from a spool outside the root.
	spool := filepath.Join(t.TempDir(), "spool")
	mustWrite(t, spool, "spooled")
	if err := c2.Move(ctx, spool, "moved/spool"); err != nil {
		t.Fatalf("Move from spool: %v", err)
	}
	// Transaction of many keys (different slots), from both coordinators.
	for round := 0; round < 3; round++ {
		var files []TxFile
		for i := 0; i < 12; i++ {
			files = append(files, TxFile{Name: fmt.Sprintf("tx/k%02d", i), Data: []byte(fmt.Sprintf("r%d-%d", round, i))})
		}
		c := c1
		if round%2 == 1 {
			c = c2
		}
		if err := c.Tx(ctx, files); err != nil {
			t.Fatalf("Tx round %d: %v", round, err)
		}
		for _, f := range files {
			if got := readFile(t, filepath.Join(root, f.Name)); got != string(f.Data) {
				t.Fatalf("%s = %q; want %q", f.Name, got, f.Data)
			}
		}
	}
	// The committed record reached Redis (on the right node) for a key.
	cl := rc.Client(t)
	k := locking.RedisKeys(c1.VolumeID(), "tx/k05")
	s, err := cl.Get(ctx, k.Commit).Result()
	if err != nil || !strings.Contains(s, "token") {
		t.Fatalf("commit record in cluster: %q, %v", s, err)
	}
	// Sweep, ReadFile, Rotate and Append through the cluster.
	if _, err := c1.Sweep(ctx, time.Hour); err != nil {
		t.Fatalf("Sweep: %v", err)
	}
	if b, err := c2.ReadFile(ctx, "tx/k03"); err != nil || string(b) != "r2-3" {
		t.Fatalf("ReadFile = %q, %v", b, err)
	}
	a := c1.Appender("app.log")
	for i := 0; i < 5; i++ {
		if err := a.Append(ctx, []byte(fmt.Sprintf("line %d\n", i))); err != nil {
			t.Fatalf("Append: %v", err)
		}
	}
	if r, err := c2.Rotate(ctx, "app.log"); err != nil || r.Name == "" {
		t.Fatalf("Rotate = %+v, %v", r, err)
	}
	if err := a.Append(ctx, []byte("after\n")); err != nil {
		t.Fatalf("Append after rotate: %v", err)
	}
	a.Close()
	if got := readFile(t, filepath.Join(root, "app.log")); got != "after\n" {
		t.Fatalf("live log = %q", got)
	}
}

// Contention: waiters in line on one key, across coordinators, each using a
// distinct cluster client: the wake-ups (pub/sub) must work through a cluster.
func TestClusterContention(t *testing.T) {
	root, c1, c2, _ := openCluster(t)
	ctx := ctxT(t, 60*time.Second)
	start := time.Now()
	var wg sync.WaitGroup
	for i := 0; i < 10; i++ {
		for _, c := range []*Coordinator{c1, c2} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := c.Lock(ctx, "hot", func(ctx context.Context, _ LeaseInfo) error {
					time.Sleep(50 * time.Millisecond)
					return c.Update(ctx, "hot", increment)
				}); err != nil {
					t.Errorf("Lock: %v", err)
				}
			}()
		}
	}
	wg.Wait()
	el := time.Since(start)
	t.Logf("20 locks of 50ms took %v", el)
	if got := readFile(t, filepath.Join(root, "hot")); got != "20" {
		t.Fatalf("hot = %q; want 20", got)
	}
	if el > 10*time.Second {
		t.Errorf("20 x 50ms locks took %v: waiters are not woken (polling?)", el)
	}
}

// Watch through a cluster client: with a poll interval of an hour, only the
// change event (pub/sub) can deliver the version in time.
func TestClusterWatchEvent(t *testing.T) {
	for _, tc := range []struct {
		name string
		pick func(c1, c2 *Coordinator) (w, wr *Coordinator)
	}{
		{"watch-client-writes-url", func(c1, c2 *Coordinator) (*Coordinator, *Coordinator) { return c1, c2 }},
		{"watch-url-writes-client", func(c1, c2 *Coordinator) (*Coordinator, *Coordinator) { return c2, c1 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, c1, c2, _ := openCluster(t)
			w, wr := tc.pick(c1, c2)
			ctx := ctxT(t, 60*time.Second)
			for _, name := range []string{"w/a", "w/b", "w/c"} {
				if err := wr.WriteFile(ctx, name, []byte("v0"), 0o644); err != nil {
					t.Fatal(err)
				}
				wctx, cancel := context.WithCancel(ctx)
				got := make(chan Change, 10)
				started := make(chan struct{})
				done := make(chan error, 1)
				go func() {
					done <- w.Watch(wctx, name, func(ctx context.Context, ch Change) error {
						got <- ch
						return nil
					}, WatchInterval(time.Hour), func(wc *watchConfig) { wc.started = func() { close(started) } })
				}()
				select {
				case <-started:
				case err := <-done:
					t.Fatalf("Watch %s ended: %v", name, err)
				case <-time.After(20 * time.Second):
					t.Fatalf("Watch %s never started", name)
				}
				for i := 1; i <= 3; i++ {
					want := fmt.Sprintf("v%d", i)
					if err := wr.WriteFile(ctx, name, []byte(want), 0o644); err != nil {
						t.Fatal(err)
					}
					select {
					case ch := <-got:
						if string(ch.Data) != want {
							t.Errorf("%s: got %q; want %q", name, ch.Data, want)
						}
					case err := <-done:
						t.Fatalf("Watch %s ended: %v", name, err)
					case <-time.After(8 * time.Second):
						t.Fatalf("%s: no change event for %q within 8s through the cluster", name, want)
					}
				}
				// A Tx and a Remove are delivered too.
				if err := wr.Tx(ctx, []TxFile{{Name: name, Data: []byte("txv")}, {Name: name + ".other", Data: []byte("o")}}); err != nil {
					t.Fatal(err)
				}
				select {
				case ch := <-got:
					if string(ch.Data) != "txv" {
						t.Errorf("%s: tx got %q", name, ch.Data)
					}
				case <-time.After(8 * time.Second):
					t.Fatalf("%s: no change event for the Tx within 8s", name)
				}
				if err := wr.Remove(ctx, name); err != nil {
					t.Fatal(err)
				}
				select {
				case ch := <-got:
					if !ch.Deleted {
						t.Errorf("%s: remove delivered %+v", name, ch.Event)
					}
				case <-time.After(8 * time.Second):
					t.Fatalf("%s: no change event for the Remove within 8s", name)
				}
				cancel()
				<-done
			}
		})
	}
}

// A cluster client that the caller made with the redis.UniversalClient
// constructor (several addresses) is a ClusterClient too.
func TestClusterUniversal(t *testing.T) {
	rc := testrig.StartRedisCluster(t)
	root := t.TempDir()
	ctx := ctxT(t, 30*time.Second)
	u := redis.NewUniversalClient(&redis.UniversalOptions{Addrs: rc.Addrs(), DisableIdentity: true})
	t.Cleanup(func() { u.Close() })
	if _, err := InitVolume(ctx, root, u); err != nil {
		t.Fatal(err)
	}
	c, err := Open(ctx, root, WithRedis(u))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var files []TxFile
	for i := 0; i < 8; i++ {
		files = append(files, TxFile{Name: fmt.Sprintf("u/%d", i), Data: []byte("x")})
	}
	if err := c.Tx(ctx, files); err != nil {
		t.Fatalf("Tx: %v", err)
	}
}
