//go:build linux

package writer

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestInPlaceSettleWaitsForTheLiveRewrite: a reader that arrives during an
// in-place rewrite waits for it (its flock on the backup). When that rewrite
// ends and the next one (serialised by the caller, as the coordinator's lease
// does) starts before the reader looks, the reader must not take the new
// rewrite's marker for a leftover: the live rewrite's marker and backup stay
// until it removes them itself.
//
// To make the interleaving certain, the test holds the first backup's flock
// (on the unlinked file the reader waits on) from the end of the first
// rewrite until the second one is in its PreCommit hook, as a reader polling
// with backoff may just as well wake only then.
func TestInPlaceSettleWaitsForTheLiveRewrite(t *testing.T) {
	r, dir, source := busyRig(t, "v0")
	ctx := context.Background()
	mRel, bRel := inPlaceNames("mounted")

	var b1 *os.File
	readerDone := make(chan error, 1)
	hook1 := PreCommit(func(_ context.Context, c Change) error {
		if c.Op != "inplace" {
			return nil
		}
		var err error
		if b1, err = os.Open(filepath.Join(dir, bRel)); err != nil {
			t.Errorf("open first backup: %v", err)
			return nil
		}
		go func() {
			_, err := r.ReadFile(ctx, "mounted")
			readerDone <- err
		}()
		time.Sleep(300 * time.Millisecond) // the reader waits on the backup's flock
		return nil
	})
	if err := r.WriteFile(ctx, "mounted", []byte("v1"), 0o644, InPlaceIfBusy(), hook1); err != nil {
		t.Fatalf("first rewrite: %v", err)
	}
	if b1 == nil {
		t.Fatal("the first rewrite's hook did not run")
	}
	defer b1.Close()
	if err := unix.Flock(int(b1.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		t.Skipf("the reader took the first backup's flock before the test could (%v): interleaving not reached", err)
	}
	select {
	case err := <-readerDone:
		t.Skipf("the reader finished before the second rewrite (%v): interleaving not reached", err)
	default:
	}

	var markerDuring, backupDuring error
	hook2 := PreCommit(func(_ context.Context, c Change) error {
		if c.Op != "inplace" {
			return nil
		}
		_ = unix.Flock(int(b1.Fd()), unix.LOCK_UN) // the reader may look now
		time.Sleep(300 * time.Millisecond)
		_, markerDuring = os.Lstat(filepath.Join(dir, mRel))
		_, backupDuring = os.Lstat(filepath.Join(dir, bRel))
		return nil
	})
	if err := r.WriteFile(ctx, "mounted", []byte("v2, the second rewrite"), 0o644, InPlaceIfBusy(), hook2); err != nil {
		t.Fatalf("second rewrite: %v", err)
	}
	select {
	case err := <-readerDone:
		t.Logf("reader: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("reader still waiting 10 s after both rewrites")
	}
	if markerDuring != nil || backupDuring != nil {
		t.Errorf("during the second, live rewrite a waiting reader removed its marker (%v) / backup (%v); want both kept until the rewrite removes them (a crash now could not be restored)", markerDuring, backupDuring)
	}
	if got := readString(t, source); got != "v2, the second rewrite" {
		t.Errorf("target: got %q; want the second rewrite's content", got)
	}
}
