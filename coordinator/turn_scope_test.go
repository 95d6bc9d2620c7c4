//go:build unix

package coordinator

import (
	"context"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// incrementInTurn runs goroutines × per Updates of name with ctx on c
// at once, each adding one with a pause between its read and its write, and
// fails the test when one of them fails or they outlast the bound.
func incrementInTurn(t *testing.T, ctx context.Context, c *Coordinator, name string, goroutines, per int) {
	t.Helper()
	errs := make(chan error, goroutines)
	for range goroutines {
		go func() {
			for range per {
				err := c.Update(ctx, name, func(old []byte, _ bool) ([]byte, error) {
					n, _ := strconv.Atoi(string(old))
					time.Sleep(2 * time.Millisecond)
					return []byte(strconv.Itoa(n + 1)), nil
				})
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	bound := time.After(60 * time.Second)
	for range goroutines {
		select {
		case err := <-errs:
			if err != nil {
				t.Errorf("Update = %v", err)
			}
		case <-bound:
			t.Fatal("the concurrent Updates hang")
		}
	}
}

// Updates run at once by several goroutines with the context of a Lock
// function take turns on the key, as the Lock documentation says, also
// when that Lock itself borrowed the lease: nested in another Lock's
// function ("nested"), or made by a coordinator that adopted the lease
// ("adopted"). Every increment is kept, and no turn file is left.
func TestLockFnConcurrentUpdatesTakeTurns(t *testing.T) {
	const goroutines, per = 4, 10
	for _, m := range modes {
		for _, how := range []string{"outer", "nested", "adopted"} {
			t.Run(string(m)+"/"+how, func(t *testing.T) {
				c, root, ctx := counterLock(t, m, 2*time.Minute)
				err := c.Lock(ctx, "n", func(lctx context.Context, info LeaseInfo) error {
					switch how {
					case "outer":
						incrementInTurn(t, lctx, c, "n", goroutines, per)
						return nil
					case "nested":
						return c.Lock(lctx, "n", func(ictx context.Context, _ LeaseInfo) error {
							incrementInTurn(t, ictx, c, "n", goroutines, per)
							return nil
						})
					}
					fd, err := syscall.Dup(int(info.Fd))
					if err != nil {
						return err
					}
					a, err := openAdopter(ctx, t, m, root, info, fd)
					if err != nil {
						return err
					}
					defer a.Close()
					return a.Lock(ctx, "n", func(actx context.Context, _ LeaseInfo) error {
						incrementInTurn(t, actx, a, "n", goroutines, per)
						return nil
					})
				})
				if err != nil {
					t.Fatalf("Lock = %v", err)
				}
				checkCount(t, root, goroutines*per)
			})
		}
	}
}

// A streaming File made with a Lock function's context by one goroutine is
// not committed between the read and the commit of an Update another
// goroutine runs with that context: as between adopters, the File's content
// would be put back by the Update and lost. The Update runs first (its read
// comes before the File is made), so the File's content is the last.
func TestLockFnFileWaitsForUpdate(t *testing.T) {
	for _, m := range modes {
		t.Run(string(m), func(t *testing.T) {
			root := t.TempDir()
			c := open(t, m, root, WithLeaseTTL(20*time.Second))
			ctx := ctxT(t, time.Minute)
			if err := c.WriteFile(ctx, "f", []byte("0"), 0o644); err != nil {
				t.Fatal(err)
			}
			err := c.Lock(ctx, "f", func(lctx context.Context, _ LeaseInfo) error {
				read := make(chan struct{})
				updated := make(chan error, 1)
				go func() {
					updated <- c.Update(lctx, "f", func(old []byte, _ bool) ([]byte, error) {
						close(read)
						time.Sleep(500 * time.Millisecond)
						return append(old, "+u"...), nil
					})
				}()
				select {
				case <-read:
				case <-time.After(20 * time.Second):
					t.Fatal("the Update did not start")
				}
				f, err := c.Create(lctx, "f", 0o644)
				if err != nil {
					return err
				}
				if _, err := f.Write([]byte("w")); err != nil {
					f.Abort()
					return err
				}
				if err := f.Commit(lctx); err != nil {
					return err
				}
				select {
				case err := <-updated:
					return err
				case <-time.After(20 * time.Second):
					t.Fatal("the Update hangs")
				}
				return nil
			})
			if err != nil {
				t.Fatalf("Lock = %v", err)
			}
			if got := readFile(t, filepath.Join(root, "f")); got != "w" {
				t.Errorf("f = %q; want %q (the File committed after the Update): the File's write was lost", got, "w")
			}
		})
	}
}
