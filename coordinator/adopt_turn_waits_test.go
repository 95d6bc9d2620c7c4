//go:build unix

package coordinator

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// hostEntries is the number of keys with a host turn entry.
func (b *borrowTurns) hostEntries() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.host)
}

// While another adopter has the lease's turn, the first of this adopter's
// operations to wait for it gives up at its deadline, one waiting behind it
// gives up at its own; the one still waiting then takes the turn itself and
// goes through once the other adopter's File is committed. Nothing is left:
// no host turn entry, no turn file.
func TestAdoptedTurnFirstWaiterCancelled(t *testing.T) {
	for _, m := range modes {
		t.Run(string(m), func(t *testing.T) {
			var root string
			withAdopters(t, m, "f", func(ctx context.Context, a, b *Coordinator) error {
				root = a.root.Dir()
				fb, err := b.Create(ctx, "f", 0o644)
				if err != nil {
					return err
				}
				if _, err := fb.Write([]byte("b")); err != nil {
					return err
				}
				create := func(d time.Duration, out chan<- error) {
					short, cancel := context.WithTimeout(ctx, d)
					defer cancel()
					f, err := a.Create(short, "f", 0o644)
					if err == nil {
						f.Abort()
					}
					out <- err
				}
				first := make(chan error, 1)
				go create(400*time.Millisecond, first)
				time.Sleep(50 * time.Millisecond)
				write := make(chan error, 1)
				go func() { write <- a.WriteFile(ctx, "f", []byte("a"), 0o644) }()
				time.Sleep(50 * time.Millisecond)
				behind := make(chan error, 1)
				go create(100*time.Millisecond, behind)

				if err := <-behind; err == nil {
					t.Errorf("a File waiting behind the first was created while the other adopter's File is open")
				}
				if err := <-first; !errors.Is(err, ErrNotObtained) {
					t.Errorf("the first File to wait for the turn = %v; want ErrNotObtained", err)
				}
				select {
				case err := <-write:
					t.Fatalf("the write returned %v while the other adopter's File is open", err)
				case <-time.After(300 * time.Millisecond):
				}
				if err := fb.Commit(ctx); err != nil {
					return err
				}
				select {
				case err := <-write:
					if err != nil {
						t.Errorf("the write still waiting after the File's commit = %v", err)
					}
				case <-time.After(20 * time.Second):
					t.Fatal("the write still waits after the other adopter's File was committed")
				}
				for _, c := range []*Coordinator{a, b} {
					if n := c.borrowed.hostEntries(); n != 0 {
						t.Errorf("%d host turn entries after every operation ended; want 0", n)
					}
				}
				return nil
			})
			if got := readFile(t, filepath.Join(root, "f")); got != "a" {
				t.Errorf("f = %q; want %q", got, "a")
			}
			noTurnFiles(t, root)
		})
	}
}

// withAdopters opens two coordinators that adopt the lease of c's Lock on name,
// and runs fn with them inside that Lock.
func withAdopters(t *testing.T, m mode, name string, fn func(ctx context.Context, a, b *Coordinator) error) {
	t.Helper()
	root := t.TempDir()
	c := open(t, m, root)
	ctx := ctxT(t, time.Minute)
	err := c.Lock(ctx, name, func(lctx context.Context, info LeaseInfo) error {
		adopter := func() *Coordinator { return adopterOf(ctx, t, m, root, info) }
		return fn(ctx, adopter(), adopter())
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A write that waits for the lease's turn among adopters and whose deadline
// passes fails with ErrNotObtained, as a write waiting for the lease or the
// lock does, also when another operation of its process was waiting for
// that turn first; both errors name the turn file.
func TestAdoptedTurnWaitBehindAnotherIsNotObtained(t *testing.T) {
	for _, m := range modes {
		t.Run(string(m), func(t *testing.T) {
			withAdopters(t, m, "f", func(ctx context.Context, a, b *Coordinator) error {
				fb, err := b.Create(ctx, "f", 0o644)
				if err != nil {
					return err
				}
				defer fb.Abort()
				first := make(chan error, 1)
				go func() {
					short, cancel := context.WithTimeout(ctx, time.Second)
					defer cancel()
					f, err := a.Create(short, "f", 0o644)
					if err == nil {
						f.Abort()
					}
					first <- err
				}()
				time.Sleep(100 * time.Millisecond)
				short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
				err = a.WriteFile(short, "f", []byte("a"), 0o644)
				cancel()
				if !errors.Is(err, ErrNotObtained) {
					t.Errorf("a write waiting for the turn behind another of its process's operations = %v; want ErrNotObtained", err)
				}
				taker := <-first
				if !errors.Is(taker, ErrNotObtained) {
					t.Errorf("the first operation waiting for the turn = %v; want ErrNotObtained", taker)
				}
				if !strings.Contains(fmt.Sprint(taker), ".turn") {
					t.Errorf("the first waiter's error %q does not name the turn file", taker)
				}
				if !strings.Contains(fmt.Sprint(err), ".turn") {
					t.Errorf("the error of a write waiting behind another of its process's operations = %q; want it to name the turn file, as %q does", err, taker)
				}
				return nil
			})
		})
	}
}

// Updates run at once by several goroutines of two adopters keep every
// increment, and leave no host turn entry and no turn file.
func TestAdoptersConcurrentUpdates(t *testing.T) {
	for _, m := range modes {
		t.Run(string(m), func(t *testing.T) {
			const goroutines, per = 3, 10
			var root string
			withAdopters(t, m, "n", func(ctx context.Context, a, b *Coordinator) error {
				root = a.root.Dir()
				errs := make(chan error, 2*goroutines)
				for _, c := range []*Coordinator{a, b} {
					for range goroutines {
						go func() {
							for range per {
								err := c.Update(ctx, "n", func(old []byte, _ bool) ([]byte, error) {
									n, _ := strconv.Atoi(string(old))
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
				}
				for range 2 * goroutines {
					if err := <-errs; err != nil {
						t.Errorf("Update = %v", err)
					}
				}
				for _, c := range []*Coordinator{a, b} {
					if n := c.borrowed.hostEntries(); n != 0 {
						t.Errorf("%d host turn entries after every Update ended; want 0", n)
					}
				}
				return nil
			})
			checkCount(t, root, 2*goroutines*per)
		})
	}
}

// A panic in an adopter's Update function, recovered by its caller, ends
// that adopter's turn: another adopter's write goes through at once.
func TestAdoptedTurnEndsOnPanic(t *testing.T) {
	for _, m := range modes {
		t.Run(string(m), func(t *testing.T) {
			withAdopters(t, m, "f", func(ctx context.Context, a, b *Coordinator) error {
				func() {
					defer func() {
						if recover() == nil {
							t.Error("the Update's panic did not reach its caller")
						}
					}()
					a.Update(ctx, "f", func([]byte, bool) ([]byte, error) { panic("fn") })
				}()
				short, cancel := context.WithTimeout(ctx, 2*time.Second)
				defer cancel()
				if err := b.WriteFile(short, "f", []byte("b"), 0o644); err != nil {
					t.Errorf("another adopter's write after a panicking Update = %v", err)
				}
				if err := a.WriteFile(short, "f", []byte("a"), 0o644); err != nil {
					t.Errorf("the panicking adopter's next write = %v", err)
				}
				if n := a.borrowed.hostEntries(); n != 0 {
					t.Errorf("%d host turn entries after the panic; want 0", n)
				}
				return nil
			})
		})
	}
}
