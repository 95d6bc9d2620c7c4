package coordinator

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sharedwrite/sharedwrite/locking"
)

func guardFill(v string) func(string) error {
	return func(dir string) error {
		for _, f := range []string{"a", "b", "sub/c"} {
			p := filepath.Join(dir, f)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return err
			}
			if err := os.WriteFile(p, []byte(v), 0o644); err != nil {
				return err
			}
		}
		return nil
	}
}

func guardVersions(t *testing.T, dir, name string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var vs []string
	for _, e := range es {
		if strings.HasPrefix(e.Name(), "."+name+".v") {
			vs = append(vs, e.Name())
		}
	}
	return vs
}

// A publish whose floor was raised by another holder while fill ran is
// fenced: ErrFenced (exit 4), the link still points at the old version, the
// new version directory and the temp link are gone.
func TestPublishFencedDuringFill(t *testing.T) {
	for _, m := range modes {
		t.Run(string(m), func(t *testing.T) {
			root := t.TempDir()
			c := open(t, m, root)
			ctx := ctxT(t, 30*time.Second)
			if err := c.PublishDir(ctx, "site/current", guardFill("1"), 1); err != nil {
				t.Fatal(err)
			}
			before, _ := os.Readlink(filepath.Join(root, "site/current"))
			err := c.PublishDir(ctx, "site/current", func(dir string) error {
				if err := guardFill("2")(dir); err != nil {
					return err
				}
				return raiseFloorElsewhere(t, root, "site/current", 10)
			}, 1)
			if !errors.Is(err, ErrFenced) || ExitCode(err) != ExitLeaseLost {
				t.Errorf("PublishDir = %v (exit %d); want ErrFenced, exit 4", err, ExitCode(err))
			}
			after, _ := os.Readlink(filepath.Join(root, "site/current"))
			if after != before {
				t.Errorf("link: %q -> %q; want unchanged", before, after)
			}
			if got := readFile(t, filepath.Join(root, "site/current/sub/c")); got != "1" {
				t.Errorf("content %q; want 1", got)
			}
			if vs := guardVersions(t, filepath.Join(root, "site"), "current"); len(vs) != 1 {
				t.Errorf("versions: %v; want only %s", vs, before)
			}
			es, _ := os.ReadDir(filepath.Join(root, "site"))
			for _, e := range es {
				if strings.HasSuffix(e.Name(), ".tmp") {
					t.Errorf("temp %s left", e.Name())
				}
			}
		})
	}
}

// A Remove whose lease was lost (its Redis key deleted, as a takeover
// would) before it runs changes nothing: ErrLeaseLost, the file stays.
func TestRemoveLeaseLost(t *testing.T) {
	root := t.TempDir()
	c := open(t, rds, root, WithLeaseTTL(leaseTestTTL))
	ctx := ctxT(t, 30*time.Second)
	if err := c.WriteFile(ctx, "f", []byte("data"), 0o644); err != nil {
		t.Fatal(err)
	}
	var rerr error
	lerr := c.Lock(ctx, "f", func(ctx context.Context, li LeaseInfo) error {
		if err := loseLeaseOf(ctx, c, li, "f"); err != nil {
			return err
		}
		rerr = c.Remove(ctx, "f")
		return nil
	})
	t.Logf("Lock: %v", lerr)
	if !errors.Is(rerr, ErrLeaseLost) || ExitCode(rerr) != ExitLeaseLost {
		t.Errorf("Remove after the lease was lost = %v (exit %d); want ErrLeaseLost, exit 4", rerr, ExitCode(rerr))
	}
	if got := readFile(t, filepath.Join(root, "f")); got != "data" {
		t.Errorf("f = %q; want kept", got)
	}
}

// A publish whose lease is lost while fill runs is not made.
func TestPublishLeaseLostDuringFill(t *testing.T) {
	root := t.TempDir()
	c := open(t, rds, root, WithLeaseTTL(leaseTestTTL))
	ctx := ctxT(t, 30*time.Second)
	if err := c.PublishDir(ctx, "site", guardFill("1"), 1); err != nil {
		t.Fatal(err)
	}
	before, _ := os.Readlink(filepath.Join(root, "site"))
	err := c.Lock(ctx, "site", func(ctx context.Context, li LeaseInfo) error {
		return c.PublishDir(ctx, "site", func(dir string) error {
			if err := guardFill("2")(dir); err != nil {
				return err
			}
			return loseLeaseOf(ctx, c, li, "site")
		}, 1)
	})
	if !errors.Is(err, ErrLeaseLost) || ExitCode(err) != ExitLeaseLost {
		t.Errorf("PublishDir = %v (exit %d); want ErrLeaseLost, exit 4", err, ExitCode(err))
	}
	if after, _ := os.Readlink(filepath.Join(root, "site")); after != before {
		t.Errorf("link %q -> %q; want unchanged", before, after)
	}
	if vs := guardVersions(t, root, "site"); len(vs) != 1 {
		t.Errorf("versions: %v; want only %s", vs, before)
	}
}

func loseLeaseOf(ctx context.Context, c *Coordinator, li LeaseInfo, key string) error {
	cl := redis.NewClient(&redis.Options{Addr: sharedRedis.Addr(), DisableIdentity: true})
	defer cl.Close()
	if n, err := cl.Del(ctx, locking.RedisKeys(c.VolumeID(), key).Lock).Result(); err != nil || n != 1 {
		return fmt.Errorf("DEL lease key = %d, %v; want 1", n, err)
	}
	select {
	case <-li.Lease.Done():
		return nil
	case <-time.After(5 * leaseTestTTL):
		return errors.New("lease loss not noticed within 5 TTLs")
	}
}

// After a Remove, the key's record says deleted and the next operations on
// the key (from this and another coordinator) see "absent" at once: no wait
// for a stale-view window.
func TestOpsSeeRemovalAtOnce(t *testing.T) {
	for _, m := range modes {
		t.Run(string(m), func(t *testing.T) {
			root := t.TempDir()
			c := open(t, m, root)
			c2 := open(t, m, root)
			ctx := ctxT(t, 60*time.Second)
			if err := c.WriteFile(ctx, "d/f", []byte("data"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := c.Remove(ctx, "d/f"); err != nil {
				t.Fatal(err)
			}
			rec, err := c.peekRecord("d/f")
			if err != nil || !rec.Committed.Deleted || rec.Committed.Token != 2 {
				t.Errorf("record: %+v, %v; want committed deleted, token 2", rec.Committed, err)
			}
			for i, cc := range []*Coordinator{c, c2} {
				short, cancel := context.WithTimeout(ctx, 5*time.Second)
				_, err := cc.ReadFile(short, "d/f")
				if !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("coordinator %d ReadFile after Remove: %v; want fs.ErrNotExist", i, err)
				}
				var sawExists bool
				err = cc.Update(short, "d/f", func(old []byte, exists bool) ([]byte, error) {
					sawExists = exists
					return []byte("again" + strconv.Itoa(i)), nil
				})
				if err != nil || (i == 0 && sawExists) {
					t.Errorf("coordinator %d Update after Remove: %v, exists=%v; want nil, false", i, err, sawExists)
				}
				cancel()
				if i == 0 {
					if err := c.Remove(ctx, "d/f"); err != nil {
						t.Fatal(err)
					}
				}
			}
			short, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			if err := c.Remove(short, "d/f"); err != nil {
				t.Fatal(err)
			}
			got, err := c2.InitOnce(short, "d/f", func(context.Context) ([]byte, error) { return []byte("init"), nil })
			if err != nil || string(got) != "init" {
				t.Errorf("InitOnce after Remove: %q, %v; want the generated content", got, err)
			}
			// A Remove of a missing file: fs.ErrNotExist, record unchanged.
			if err := c.Remove(short, "d/f"); err != nil {
				t.Fatal(err)
			}
			r1, _ := c.peekRecord("d/f")
			err = c.Remove(short, "d/f")
			r2, _ := c.peekRecord("d/f")
			if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "d/f") {
				t.Errorf("Remove of a missing file: %v; want fs.ErrNotExist naming d/f", err)
			}
			if r1.Committed != r2.Committed || r1.Floor != r2.Floor {
				t.Errorf("record changed by a failed Remove: %+v -> %+v", r1, r2)
			}
		})
	}
}

// Several coordinators (as several processes would) publish the same name
// concurrently while readers resolve the link: every publish succeeds,
// readers never see a torn or missing version through the link they just
// resolved (unless pruned under them), and the end state is one consistent
// link with at most keep+1 versions and no temps.
func TestPublishConcurrentPublishers(t *testing.T) {
	for _, m := range modes {
		t.Run(string(m), func(t *testing.T) {
			root := t.TempDir()
			cs := []*Coordinator{open(t, m, root), open(t, m, root), open(t, m, root)}
			ctx := ctxT(t, 2*time.Minute)
			const keep, per = 1, 8
			if err := cs[0].PublishDir(ctx, "site", guardFill("init"), keep); err != nil {
				t.Fatal(err)
			}
			var stop atomic.Bool
			var rd sync.WaitGroup
			var reads atomic.Int64
			link := filepath.Join(root, "site")
			for range 2 {
				rd.Go(func() {
					for !stop.Load() {
						target, err := os.Readlink(link)
						if err != nil {
							t.Errorf("readlink: %v", err)
							return
						}
						got := readPublished(t, filepath.Join(root, target))
						if got == nil {
							continue
						}
						reads.Add(1)
						if got[0] != got[1] || got[1] != got[2] {
							t.Errorf("torn: %v", got)
						}
					}
				})
			}
			var wg sync.WaitGroup
			errs := make(chan error, len(cs)*per)
			for i, c := range cs {
				wg.Go(func() {
					for j := range per {
						if err := c.PublishDir(ctx, "site", guardFill(fmt.Sprintf("%d-%d", i, j)), keep); err != nil {
							errs <- fmt.Errorf("coordinator %d publish %d: %w", i, j, err)
						}
					}
				})
			}
			wg.Wait()
			stop.Store(true)
			rd.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			target, err := os.Readlink(link)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(filepath.Join(root, target, "sub/c")); err != nil {
				t.Errorf("current version %s: %v", target, err)
			}
			vs := guardVersions(t, root, "site")
			if len(vs) > keep+1 {
				t.Errorf("versions: %v; want at most %d", vs, keep+1)
			}
			es, _ := os.ReadDir(root)
			for _, e := range es {
				if strings.HasSuffix(e.Name(), ".tmp") {
					t.Errorf("temp %s left", e.Name())
				}
			}
			rec, err := cs[0].peekRecord("site")
			if err != nil || rec.Committed.Token != uint64(len(cs)*per+1) {
				t.Errorf("record of site: token %d, %v; want %d", rec.Committed.Token, err, len(cs)*per+1)
			}
			t.Logf("reads: %d", reads.Load())
		})
	}
}

// MkdirAll through the coordinator with a cancelled context creates nothing.
func TestMkdirAllCancelled(t *testing.T) {
	root := t.TempDir()
	c := open(t, local, root)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := c.MkdirAll(ctx, "x/y", 0o755)
	if _, serr := os.Stat(filepath.Join(root, "x")); err == nil || !errors.Is(serr, fs.ErrNotExist) {
		t.Errorf("MkdirAll with a cancelled ctx = %v; x: %v; want an error and nothing created", err, serr)
	}
}

// A regular file put at the link's name by another program while fill runs
// is refused like one that was there at the start (fs.ErrExist), never
// replaced by the link.
func TestPublishKeepsFileAppearingDuringFill(t *testing.T) {
	for _, m := range modes {
		t.Run(string(m), func(t *testing.T) {
			root := t.TempDir()
			c := open(t, m, root)
			ctx := ctxT(t, 30*time.Second)
			if err := c.PublishDir(ctx, "site", guardFill("1"), 1); err != nil {
				t.Fatal(err)
			}
			err := c.PublishDir(ctx, "site", func(dir string) error {
				_ = os.Remove(filepath.Join(root, "site"))
				if err := os.WriteFile(filepath.Join(root, "site"), []byte("someone's data"), 0o644); err != nil {
					return err
				}
				return guardFill("2")(dir)
			}, 1)
			fi, lerr := os.Lstat(filepath.Join(root, "site"))
			if lerr != nil || !fi.Mode().IsRegular() {
				t.Errorf("PublishDir = %v; site is now %v (%v); want the regular file kept and fs.ErrExist", err, fi.Mode(), lerr)
			}
			// Control: the same file there before the call is refused.
			_ = os.Remove(filepath.Join(root, "site"))
			mustWrite(t, filepath.Join(root, "site"), "someone's data")
			if err := c.PublishDir(ctx, "site", guardFill("3"), 1); !errors.Is(err, fs.ErrExist) {
				t.Errorf("control: PublishDir over a file present at the start = %v; want fs.ErrExist", err)
			}
		})
	}
}
