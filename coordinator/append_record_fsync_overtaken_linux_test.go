//go:build linux

package coordinator

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/testrig/faultfs"
)

// An append batch is committed once its pending record is fsynced: its data
// is on disk before, and the key's next holder promotes the pending length
// whatever it finds. Here the batch's holder is held in that fsync (a slow
// network filesystem) while its lease runs out, and a holder on another
// mount of the volume, whose file locks the first mount does not share,
// takes the key, promotes the batch and appends after it. The first batch's
// Append must then not say that nothing of it was committed (the caller
// would append the record again): it returns nil or an error wrapping
// ErrOutcomeUnknown. Neither holder's records are lost.
func TestAppendOvertakenInRecordFsyncIsNotReportedUncommitted(t *testing.T) {
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
	// pending write; its lease ends there.
	got := stallLosingLease(t, ctx, r, mnt, c, "log", faultfs.Fault{Op: faultfs.OpFsync, Glob: "*.lock", Count: 1, Delay: 4 * time.Second},
		func() error { return a.Append(ctx, []byte("paused\n")) })

	b := other.Appender("log")
	t.Cleanup(func() { b.Close() })
	if err := b.Append(ctx, []byte("newer\n")); err != nil {
		t.Fatalf("the newer holder's Append: %v", err)
	}
	err := <-got // bounded by ctx
	if got, want := readFile(t, filepath.Join(mnt.Backing, "log")), "first\npaused\nnewer\n"; got != want {
		t.Fatalf("log after the newer holder's append = %q; want %q (the newer holder promoted the paused batch)", got, want)
	}
	if err != nil && !errors.Is(err, ErrOutcomeUnknown) {
		t.Errorf("the overtaken batch's Append = %v; want nil or ErrOutcomeUnknown (its record is committed)", err)
	}
	mnt.Clear()

	// The record was left to the newer holder: the next batch goes after
	// its records, cutting none.
	if err := b.Append(ctx, []byte("last\n")); err != nil {
		t.Fatal(err)
	}
	if got, want := readFile(t, filepath.Join(mnt.Backing, "log")), "first\npaused\nnewer\nlast\n"; got != want {
		t.Errorf("log after a later append = %q; want %q", got, want)
	}
}
