//go:build linux

package coordinator

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
	"github.com/sharedwrite/sharedwrite/internal/testrig/faultfs"
	"github.com/sharedwrite/sharedwrite/locking"
)

// stallLosingLease runs call in its own goroutine with the fault f set on
// mnt (its Match, when set, still chooses the operations), waits until call
// is stalled in the first operation f matches, and then ends c's lease on
// key in Redis, as the lease of a holder stopped there ends. call's error
// arrives on the channel returned; the fault is cleared at the end of the
// test.
func stallLosingLease(t *testing.T, ctx context.Context, r *testrig.Redis, mnt *faultfs.FS, c *Coordinator, key string, f faultfs.Fault, call func() error) <-chan error {
	t.Helper()
	stalled := make(chan struct{})
	var once sync.Once
	match := f.Match
	f.Match = func(rel string) bool {
		if match != nil && !match(rel) {
			return false
		}
		once.Do(func() { close(stalled) })
		return true
	}
	mnt.Set(f)
	t.Cleanup(mnt.Clear)
	got := make(chan error, 1)
	go func() { got <- call() }()
	select {
	case <-stalled:
	case err := <-got:
		t.Fatalf("the call ended (%v) before the operation it was to stall in", err)
	case <-time.After(30 * time.Second):
		t.Fatal("the call never reached the operation it was to stall in")
	}
	if err := r.Client(t).Del(ctx, locking.RedisKeys(c.VolumeID(), key).Lock).Err(); err != nil {
		t.Fatal(err)
	}
	return got
}
