//go:build linux

package writer

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestInPlaceSweepZeroGraceKeepsLiveBackup: Sweep(0) running next to in-place
// rewrites must never remove a live rewrite's backup: once its marker is
// written, the backup is all that can restore the target after a crash.
// The hook (run with the marker written, just before the target is touched)
// checks that the backup is still there.
func TestInPlaceSweepZeroGraceKeepsLiveBackup(t *testing.T) {
	r, dir, _ := busyRig(t, "v0")
	ctx := context.Background()
	mRel, bRel := inPlaceNames("mounted")
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var lost, rewrites atomic.Int64
	var first atomic.Value
	burnCPU(6, stop, &wg)
	sweepLoop(ctx, r, stop, &wg)
	hook := PreCommit(func(_ context.Context, c Change) error {
		if c.Op != "inplace" {
			return nil
		}
		// Backup first: a settle that takes the live rewrite's marker for a
		// leftover removes the marker before the backup, so "backup gone,
		// marker still there" is the backup removed on its own, as an orphan.
		_, berr := os.Lstat(filepath.Join(dir, bRel))
		_, merr := os.Lstat(filepath.Join(dir, mRel))
		if merr == nil && berr != nil {
			lost.Add(1)
			first.CompareAndSwap(nil, fmt.Sprintf("marker present, backup: %v", berr))
		}
		return nil
	})
	deadline := time.Now().Add(8 * time.Second)
	for i := 0; time.Now().Before(deadline) && lost.Load() == 0; i++ {
		if err := r.WriteFile(ctx, "mounted", []byte(fmt.Sprintf("v%d", i)), 0o644, InPlaceIfBusy(), hook); err != nil {
			t.Logf("rewrite %d: %v", i, err)
		}
		rewrites.Add(1)
	}
	close(stop)
	wg.Wait()
	t.Logf("%d rewrites", rewrites.Load())
	if lost.Load() > 0 {
		t.Errorf("%d of %d live in-place rewrites lost their backup to a concurrent Sweep(0) before writing the target: first %v", lost.Load(), rewrites.Load(), first.Load())
	}
}
