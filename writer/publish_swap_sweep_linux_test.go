//go:build linux

package writer_test

import (
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sharedwrite/sharedwrite/internal/testrig/faultfs"
	"github.com/sharedwrite/sharedwrite/writer"
)

// After the exchange the temp name holds the old link, whose mtime is when
// the old version was published: a Sweep (another process's `clean`) that
// runs at that moment removes it as a stale publish temp. The switch is made
// all the same, and PublishDir must report it made, not a swap it could not
// undo.
func TestPublishDirSucceedsWhenSweepRemovesSwappedOutLink(t *testing.T) {
	ffs, r := faultRoot(t)
	ctx := faultCtx(t)
	fill := func(v string) func(string) error {
		return func(dir string) error { return os.WriteFile(filepath.Join(dir, "f"), []byte(v), 0o644) }
	}
	if err := r.PublishDir(ctx, "site", fill("v1"), 2); err != nil {
		t.Fatalf("first PublishDir: %v", err)
	}
	oldVer, err := os.Readlink(ffs.Backed("site"))
	if err != nil {
		t.Fatal(err)
	}
	// The old version was published two minutes ago.
	past := unix.NsecToTimespec(time.Now().Add(-2 * time.Minute).UnixNano())
	if err := unix.UtimesNanoAt(unix.AT_FDCWD, ffs.Backed("site"), []unix.Timespec{past, past}, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		t.Fatal(err)
	}

	sweeper, err := writer.Open(ffs.Dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sweeper.Close() })

	// The first look at the temp name once it holds the old link (right after
	// the exchange) is delayed; a Sweep runs meanwhile.
	var fired atomic.Bool
	start := make(chan struct{})
	ffs.Set(faultfs.Fault{
		Op:    faultfs.OpLookup,
		Glob:  faultTempGlob("site"),
		Delay: 2 * time.Second,
		Match: func(rel string) bool {
			target, err := os.Readlink(ffs.Backed(rel))
			if err != nil || target != oldVer || !fired.CompareAndSwap(false, true) {
				return false
			}
			close(start)
			return true
		},
	})
	type sweepResult struct {
		rep writer.SweepReport
		err error
	}
	swept := make(chan sweepResult, 1)
	go func() {
		select {
		case <-start:
		case <-ctx.Done():
			swept <- sweepResult{err: ctx.Err()}
			return
		}
		rep, err := sweeper.Sweep(ctx, 0)
		swept <- sweepResult{rep, err}
	}()

	perr := r.PublishDir(ctx, "site", fill("v2"), 2)
	ffs.Clear()
	var sr sweepResult
	select {
	case sr = <-swept:
	case <-time.After(30 * time.Second):
		t.Fatal("the Sweep did not return")
	}
	if !fired.Load() {
		t.Fatal("the temp name never held the old link: the exchange was not exercised")
	}
	if sr.err != nil || sr.rep.Removed != 1 {
		t.Fatalf("Sweep during the swap = %+v, %v; want the swapped-out link removed (Removed 1)", sr.rep, sr.err)
	}
	if perr != nil {
		t.Errorf("PublishDir with the swapped-out link swept = %v; want nil (the switch was made)", perr)
	}
	if got, err := os.ReadFile(filepath.Join(ffs.Dir, "site", "f")); err != nil || string(got) != "v2" {
		t.Errorf("site/f = %q, %v; want %q", got, err, "v2")
	}
	// The old version is kept (keep 2), the temp link is gone.
	if _, err := os.Stat(ffs.Backed(oldVer)); err != nil {
		t.Errorf("old version %s: %v; want it kept", oldVer, err)
	}
	if m, _ := filepath.Glob(filepath.Join(ffs.Backing, faultTempGlob("site"))); len(m) != 0 {
		t.Errorf("temps left: %v", m)
	}
}
