//go:build linux

package coordinator

import (
	"errors"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/testrig/faultfs"
)

// A batch whose pending record was written but whose fsync then fails (EIO,
// here after a stall during which its lease ran out) may already have been
// promoted: a holder on another mount of the volume, whose file locks the
// first mount does not share, took the key meanwhile, found the batch
// pending, committed it and appended after it. The record no longer names
// the batch as pending, yet that does not mean it was withdrawn: the failed
// Append must not say that nothing of it was committed (its caller would
// append the record again), but that the outcome is unknown
// (ErrOutcomeUnknown). Neither holder's records are lost or cut.
func TestAppendRecordFsyncFailedAfterPromotionIsOutcomeUnknown(t *testing.T) {
	r := needRedis(t)
	mnt := faultfs.Mount(t, faultfs.Options{})
	other := open(t, rds, mnt.Backing)
	c := open(t, rds, mnt.Dir)
	ctx := ctxT(t, time.Minute)

	a := c.Appender("log")
	t.Cleanup(func() { a.Close() })
	if err := a.Append(ctx, []byte("first\n")); err != nil {
		t.Fatal(err)
	}

	// The batch's first fsync of a lock file is that of its floor and
	// pending write: it stalls, its lease ends, then it fails.
	got := stallLosingLease(t, ctx, r, mnt, c, "log", faultfs.Fault{Op: faultfs.OpFsync, Glob: "*.lock", Count: 1, Delay: 4 * time.Second, Errno: syscall.EIO},
		func() error { return a.Append(ctx, []byte("paused\n")) })

	b := other.Appender("log")
	t.Cleanup(func() { b.Close() })
	if err := b.Append(ctx, []byte("newer\n")); err != nil {
		t.Fatalf("the newer holder's Append: %v", err)
	}
	err := <-got // bounded by ctx
	if got, want := readFile(t, filepath.Join(mnt.Backing, "log")), "first\npaused\nnewer\n"; got != want {
		t.Fatalf("log after the newer holder's append = %q; want %q (the newer holder promoted the stalled batch)", got, want)
	}
	if err == nil || !errors.Is(err, ErrOutcomeUnknown) {
		t.Errorf("the batch whose record fsync failed after the newer holder promoted it: Append = %v; want an error wrapping ErrOutcomeUnknown (the record has it committed)", err)
	}
	mnt.Clear()

	// The record was left to the newer holder: later batches of either
	// appender go after its records, cutting none.
	if err := a.Append(ctx, []byte("mine\n")); err != nil {
		t.Fatal(err)
	}
	if err := b.Append(ctx, []byte("last\n")); err != nil {
		t.Fatal(err)
	}
	if got, want := readFile(t, filepath.Join(mnt.Backing, "log")), "first\npaused\nnewer\nmine\nlast\n"; got != want {
		t.Errorf("log after later appends = %q; want %q", got, want)
	}
}
