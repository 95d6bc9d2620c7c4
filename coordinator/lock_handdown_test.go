//go:build unix

package coordinator

import (
	"context"
	"errors"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/locking"
)

// counterLock opens a coordinator of mode m on a new root whose file n holds
// "0", with a context for the test lasting d.
func counterLock(t *testing.T, m mode, d time.Duration) (*Coordinator, string, context.Context) {
	t.Helper()
	root := t.TempDir()
	c := open(t, m, root, WithLeaseTTL(20*time.Second))
	ctx := ctxT(t, d)
	if err := c.WriteFile(ctx, "n", []byte("0"), 0o644); err != nil {
		t.Fatal(err)
	}
	return c, root, ctx
}

// checkCount checks that n holds want and that no turn file is left.
func checkCount(t *testing.T, root string, want int) {
	t.Helper()
	if got := readFile(t, filepath.Join(root, "n")); got != strconv.Itoa(want) {
		t.Errorf("n = %q; want %d", got, want)
	}
	noTurnFiles(t, root)
}

// refusedAfter checks that a's Update of n is refused with ErrNotHeld: the
// scope a adopted was withdrawn (when says when).
func refusedAfter(ctx context.Context, t *testing.T, a *Coordinator, when string) {
	t.Helper()
	short, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := a.Update(short, "n", incr); !errors.Is(err, locking.ErrNotHeld) {
		t.Errorf("adopter's Update %s = %v; want ErrNotHeld", when, err)
	}
}

// incr is an Update function that adds one to a decimal counter.
func incr(old []byte, _ bool) ([]byte, error) {
	n, _ := strconv.Atoi(string(old))
	return []byte(strconv.Itoa(n + 1)), nil
}

// A nested Lock whose context is cancelled while an adopter of the scope it
// handed down is in the middle of an Update still waits for that Update
// before it returns: otherwise the outer scope's next Update runs beside it
// and one increment is lost.
func TestHandDownWithdrawWaitsWhenCancelled(t *testing.T) {
	for _, m := range modes {
		t.Run(string(m), func(t *testing.T) {
			c, root, ctx := counterLock(t, m, 60*time.Second)
			adopted := make(chan error, 1)
			err := c.Lock(ctx, "n", func(lctx context.Context, _ LeaseInfo) error {
				bctx, cancel := context.WithCancel(lctx)
				defer cancel()
				inside := make(chan struct{})
				start := time.Now()
				berr := c.Lock(bctx, "n", func(ictx context.Context, info LeaseInfo) error {
					a := adopterOf(ctx, t, m, root, info)
					go func() {
						actx, acancel := context.WithTimeout(context.Background(), 30*time.Second)
						defer acancel()
						adopted <- a.Update(actx, "n", func(old []byte, ok bool) ([]byte, error) {
							close(inside)
							time.Sleep(1500 * time.Millisecond)
							return incr(old, ok)
						})
					}()
					select {
					case <-inside:
					case <-time.After(20 * time.Second):
						t.Error("the adopter's Update did not start")
					}
					cancel()
					return nil
				})
				t.Logf("nested Lock = %v after %v", berr, time.Since(start))
				return c.Update(lctx, "n", incr)
			})
			if err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-adopted:
				if err != nil {
					t.Fatalf("adopter's Update = %v", err)
				}
			case <-time.After(40 * time.Second):
				t.Fatal("adopter's Update hangs")
			}
			if got := readFile(t, root+"/n"); got != "2" {
				t.Errorf("n = %q; want 2 (the nested Lock returned while its child's Update ran, and the outer Update ran beside it)", got)
			}
			noTurnFiles(t, root)
		})
	}
}

// Three Locks nested in one process (outer, borrowed, borrowed within the
// borrowed) hand their scopes down: the innermost Lock's operations, and
// those of an adopter of its scope, are not refused while it runs; after it
// returns the adopter is refused with ErrNotHeld, and no turn file is left.
func TestHandDownLockInLockInLock(t *testing.T) {
	for _, m := range modes {
		t.Run(string(m), func(t *testing.T) {
			c, root, ctx := counterLock(t, m, 60*time.Second)
			var late *Coordinator
			err := c.Lock(ctx, "n", func(ctx1 context.Context, _ LeaseInfo) error {
				return c.Lock(ctx1, "n", func(ctx2 context.Context, _ LeaseInfo) error {
					if err := c.Update(ctx2, "n", incr); err != nil {
						return err
					}
					err := c.Lock(ctx2, "n", func(ctx3 context.Context, info LeaseInfo) error {
						if err := c.Update(ctx3, "n", incr); err != nil {
							return err
						}
						a := adopterOf(ctx, t, m, root, info)
						late = a
						return a.Update(ctx, "n", incr)
					})
					if err != nil {
						return err
					}
					refusedAfter(ctx, t, late, "after its Lock returned")
					return c.Update(ctx2, "n", incr)
				})
			})
			if err != nil {
				t.Fatal(err)
			}
			checkCount(t, root, 4)
		})
	}
}

// A panic in a nested Lock's function withdraws the scope it handed down:
// an adopter of that scope is then refused with ErrNotHeld, the outer Lock
// goes on, and no turn file is left.
func TestHandDownPanicWithdraws(t *testing.T) {
	for _, m := range modes {
		t.Run(string(m), func(t *testing.T) {
			c, root, ctx := counterLock(t, m, 60*time.Second)
			err := c.Lock(ctx, "n", func(lctx context.Context, _ LeaseInfo) error {
				var a *Coordinator
				func() {
					defer func() {
						if p := recover(); p == nil {
							t.Error("no panic")
						}
					}()
					_ = c.Lock(lctx, "n", func(ictx context.Context, info LeaseInfo) error {
						a = adopterOf(ctx, t, m, root, info)
						if err := a.Update(ctx, "n", incr); err != nil {
							t.Errorf("adopter's Update = %v", err)
						}
						panic("boom")
					})
				}()
				refusedAfter(ctx, t, a, "after the panic")
				return c.Update(lctx, "n", incr)
			})
			if err != nil {
				t.Fatal(err)
			}
			checkCount(t, root, 2)
		})
	}
}

// Two Locks nested in an adopter's UpdateContext function, run at once with
// its context, each hand down a scope of their own: the adopter of each
// one's scope is not refused while that Lock runs.
func TestHandDownConcurrentLocksInUpdate(t *testing.T) {
	for _, m := range modes {
		t.Run(string(m), func(t *testing.T) {
			c, root, ctx := counterLock(t, m, 60*time.Second)
			err := c.Lock(ctx, "n", func(lctx context.Context, info LeaseInfo) error {
				p := adopterOf(ctx, t, m, root, info)
				return p.UpdateContext(ctx, "n", func(uctx context.Context, old []byte, ok bool) ([]byte, error) {
					errs := make(chan error, 2)
					handed := make(chan LeaseInfo, 2)
					proceed := make(chan struct{})
					for range 2 {
						go func() {
							errs <- p.Lock(uctx, "n", func(_ context.Context, info LeaseInfo) error {
								handed <- info
								<-proceed
								q := adopterOf(ctx, t, m, root, info)
								short, cancel := context.WithTimeout(ctx, 10*time.Second)
								defer cancel()
								return q.Update(short, "n", incr)
							})
						}()
					}
					for range 2 {
						select {
						case <-handed:
						case <-time.After(20 * time.Second):
							return nil, errors.New("the two nested Locks did not run at once")
						}
					}
					close(proceed)
					for range 2 {
						if err := <-errs; err != nil {
							return nil, err
						}
					}
					return old, nil
				})
			})
			if err != nil {
				t.Fatal(err)
			}
			noTurnFiles(t, root)
		})
	}
}
