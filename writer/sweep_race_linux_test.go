//go:build linux

package writer

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// A FIFO named like an old temp of this host is not a temp any writer holds:
// Sweep leaves it (it removes only regular files and symlinks) and does not
// report it as Live ("kept because their writer still holds the flock").
func TestSweepNonRegularIsNotLive(t *testing.T) {
	r, dir := openRoot(t)
	name := "." + "pipe" + ".sw." + tempHost() + ".4242.12345.0badf00d.tmp"
	p := filepath.Join(dir, name)
	if err := syscall.Mkfifo(p, 0o600); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-2 * time.Hour)
	ts := []syscall.Timespec{syscall.NsecToTimespec(old.UnixNano()), syscall.NsecToTimespec(old.UnixNano())}
	if err := syscall.UtimesNano(p, ts); err != nil {
		t.Fatal(err)
	}
	rep, err := r.Sweep(context.Background(), time.Hour)
	if err != nil {
		t.Fatalf("Sweep: %v", err)
	}
	if rep.Live != 0 {
		t.Errorf("report %+v: a FIFO no one holds counted as Live=%d; want 0", rep, rep.Live)
	}
}

// A live writer's temp is never lost to a Sweep, also one just being
// created: the temp exists (O_EXCL) a moment before its writer's flock, and
// Sweep with olderThan 0 (which clean --older-than 0 passes) may remove it in
// that moment; the writer then makes a new one. Every write commits.
func TestSweepZeroGraceDuringCreates(t *testing.T) {
	r, _ := openRoot(t)
	ctx := context.Background()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var fails, writes atomic.Int64
	var first atomic.Value
	// CPU-bound goroutines: a writer coming back from its create(2) may wait
	// for a P, between the temp's creation and its flock, as any process may
	// be descheduled there.
	burnCPU(8, stop, &wg)
	for w := 0; w < 6; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				f, err := r.Create(ctx, fmt.Sprintf("f%d", w), 0o644)
				if err != nil {
					continue
				}
				f.Write([]byte("x"))
				if err := f.Commit(ctx); err != nil {
					fails.Add(1)
					first.CompareAndSwap(nil, err.Error())
				}
				writes.Add(1)
			}
		}()
	}
	sweepLoop(ctx, r, stop, &wg)
	// Until the first failure, at most 5 s (before the fix, a failure came
	// within a second in most runs).
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline) && fails.Load() == 0; {
		time.Sleep(50 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	if fails.Load() > 0 {
		t.Errorf("%d of %d writes failed with a concurrent Sweep(0): first %v", fails.Load(), writes.Load(), first.Load())
	}
}

// burnCPU runs n CPU-bound goroutines (in wg) until stop is closed: a
// goroutine coming back from a system call may then wait for a P, as any
// process may be descheduled there.
func burnCPU(n int, stop <-chan struct{}, wg *sync.WaitGroup) {
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				for t := time.Now(); time.Since(t) < 5*time.Millisecond; {
				}
			}
		}()
	}
}

// sweepLoop runs Sweep(ctx, 0) over and over (in wg) until stop is closed.
func sweepLoop(ctx context.Context, r *Root, stop <-chan struct{}, wg *sync.WaitGroup) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			r.Sweep(ctx, 0)
		}
	}()
}
