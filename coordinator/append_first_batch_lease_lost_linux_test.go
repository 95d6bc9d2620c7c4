//go:build linux

package coordinator

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/testrig/faultfs"
)

// A log's first batch commits its starting length before it writes its
// records. When the lease is lost in that commit's record fsync, the
// starting length may stay pending, but the batch's records were never
// written: its Append fails without wrapping ErrOutcomeUnknown (a caller
// that does not retry an unknown outcome, so as not to write a record twice,
// would lose the record), and a retry writes the record once.
func TestAppendFirstBatchLeaseLostInStartingLengthIsNotOutcomeUnknown(t *testing.T) {
	r := needRedis(t)
	mnt := faultfs.Mount(t, faultfs.Options{})
	c := open(t, rds, mnt.Dir)
	ctx := ctxT(t, time.Minute)
	if err := os.WriteFile(filepath.Join(mnt.Backing, "log"), []byte("before\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	a := c.Appender("log")
	t.Cleanup(func() { a.Close() })
	// The batch's first fsync of a lock file is that of its starting
	// length's record; its lease ends there.
	got := stallLosingLease(t, ctx, r, mnt, c, "log", faultfs.Fault{Op: faultfs.OpFsync, Glob: "*.lock", Count: 1, Delay: 4 * time.Second},
		func() error { return a.Append(ctx, []byte("rec\n")) })
	err := <-got
	if got, want := readFile(t, filepath.Join(mnt.Backing, "log")), "before\n"; got != want {
		t.Fatalf("log after the failed first batch = %q; want %q (its records never written)", got, want)
	}
	if err == nil || errors.Is(err, ErrOutcomeUnknown) {
		t.Fatalf("first batch whose lease was lost committing its starting length: Append = %v; want an error not wrapping ErrOutcomeUnknown (nothing of it was written)", err)
	}
	mnt.Clear()
	if err := a.Append(ctx, []byte("rec\n")); err != nil {
		t.Fatalf("retried Append: %v", err)
	}
	if got, want := readFile(t, filepath.Join(mnt.Backing, "log")), "before\nrec\n"; got != want {
		t.Errorf("log after the retry = %q; want %q", got, want)
	}
}
