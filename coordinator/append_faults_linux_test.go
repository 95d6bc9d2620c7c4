//go:build linux

package coordinator

import (
	"context"
	"errors"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/testrig/faultfs"
)

// TestAppendFailedRecordFsyncIsWithdrawn: a batch whose data is written and
// fsynced, and whose floor and pending write reaches the lock file but whose
// fsync fails (EIO), is reported failed and is not committed: its pending
// version is withdrawn, so the next batch does not promote it and the
// caller's retry writes the record once.
func TestAppendFailedRecordFsyncIsWithdrawn(t *testing.T) {
	fs, _, a, ctx := faultyLog(t)

	// The next fsync of the lock file (the batch's floor and pending) fails.
	fs.Set(faultfs.Fault{Op: faultfs.OpFsync, Glob: "*.lock", Errno: syscall.EIO, Count: 1})
	err := a.Append(ctx, []byte("two 2\n"))
	fs.Clear()
	if err == nil {
		t.Fatal("Append succeeded although the record's fsync failed")
	}
	if errors.Is(err, ErrOutcomeUnknown) {
		t.Fatalf("Append = %v; want a plain failure (the withdrawal succeeded)", err)
	}
	if !errors.Is(err, syscall.EIO) {
		t.Errorf("Append = %v; want it to wrap EIO", err)
	}

	// The caller retries the failed record, then appends another.
	if err := a.Append(ctx, []byte("two 2\n")); err != nil {
		t.Fatal(err)
	}
	if err := a.Append(ctx, []byte("three 3\n")); err != nil {
		t.Fatal(err)
	}
	if got, want := readFile(t, filepath.Join(fs.Backing, "app.log")), "one 1\ntwo 2\nthree 3\n"; got != want {
		t.Errorf("log holds %q; want %q", got, want)
	}
}

// TestAppendUnwithdrawnBatchIsOutcomeUnknown: when the failed batch's pending
// version cannot be withdrawn either (after the record's fsync fails, the
// withdrawal's write fails too), Append says the outcome is unknown
// (ErrOutcomeUnknown) rather than "not committed": the next holder finds the
// batch pending and commits it (its data was fsynced before its pending
// version was written, and is kept), once.
func TestAppendUnwithdrawnBatchIsOutcomeUnknown(t *testing.T) {
	fs, _, a, ctx := faultyLog(t)
	appendUnwithdrawn(t, fs, a, ctx)
	if err := a.Append(ctx, []byte("three 3\n")); err != nil {
		t.Fatal(err)
	}
	if got, want := readFile(t, filepath.Join(fs.Backing, "app.log")), "one 1\ntwo 2\nthree 3\n"; got != want {
		t.Errorf("log holds %q; want %q", got, want)
	}
}

// appendUnwithdrawn appends "two 2\n" to a's log on fs while the record's
// fsync fails and then the withdrawal's write too: the batch's pending
// version stays in the record, and Append must say ErrOutcomeUnknown. It
// returns Append's error.
func appendUnwithdrawn(t *testing.T, fs *faultfs.FS, a *Appender, ctx context.Context) error {
	t.Helper()
	fs.Set(
		faultfs.Fault{Op: faultfs.OpFsync, Glob: "*.lock", Errno: syscall.EIO, Count: 1},
		faultfs.Fault{Op: faultfs.OpWrite, Glob: "*.lock", Errno: syscall.EIO, Skip: 1, Count: 1},
	)
	err := a.Append(ctx, []byte("two 2\n"))
	fs.Clear()
	if !errors.Is(err, ErrOutcomeUnknown) {
		t.Fatalf("Append = %v; want ErrOutcomeUnknown", err)
	}
	return err
}

// faultyLog returns a local-mode coordinator on a fault filesystem and an
// Appender of its app.log, which holds the committed record "one 1".
func faultyLog(t *testing.T, opts ...Option) (*faultfs.FS, *Coordinator, *Appender, context.Context) {
	t.Helper()
	fs := faultfs.Mount(t, faultfs.Options{})
	c := open(t, local, fs.Dir, opts...)
	ctx := ctxT(t, 30*time.Second)
	a := c.Appender("app.log")
	t.Cleanup(func() { a.Close() })
	if err := a.Append(ctx, []byte("one 1\n")); err != nil {
		t.Fatal(err)
	}
	return fs, c, a, ctx
}
