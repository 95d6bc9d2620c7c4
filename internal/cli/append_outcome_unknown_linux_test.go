//go:build linux

package cli

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/sharedwrite/sharedwrite/coordinator"
	"github.com/sharedwrite/sharedwrite/internal/testrig/faultfs"
)

// TestAppendOutcomeUnknownIsNotReportedUncommitted: a batch whose pending
// version reached the lock record and could not be withdrawn (the record's
// fsync fails, then the withdrawal's write) may be committed by the log's
// next holder, and is. append must not say that its lines were not
// committed: a user who feeds them again gets them twice. It says how many
// lines have an unknown outcome, and exits 1.
func TestAppendOutcomeUnknownIsNotReportedUncommitted(t *testing.T) {
	fs := faultfs.Mount(t, faultfs.Options{})
	run := appendRunner(t, fs.Dir, appendOpts{name: "app.log", maxBytes: 1 << 20, mode: "0644", maxQueued: 4})
	if err := run("zero\n"); err != nil {
		t.Fatal(err)
	}
	// The batch's floor and pending write reaches the record, its fsync
	// fails; the withdrawal's write fails too.
	fs.Set(
		faultfs.Fault{Op: faultfs.OpFsync, Glob: "*.lock", Errno: syscall.EIO, Count: 1},
		faultfs.Fault{Op: faultfs.OpWrite, Glob: "*.lock", Errno: syscall.EIO, Skip: 1, Count: 1},
	)
	err := run("one\n")
	fs.Clear()
	if !errors.Is(err, coordinator.ErrOutcomeUnknown) {
		t.Fatalf("append = %v; want an error wrapping ErrOutcomeUnknown", err)
	}
	t.Logf("append: %v", err)
	if got := exitCode(err); got != exitFailure {
		t.Errorf("exit code %d; want %d", got, exitFailure)
	}
	if msg := err.Error(); strings.Contains(msg, "of stdin); the lines after them were not committed") ||
		!strings.Contains(msg, "0 lines committed") || !strings.Contains(msg, "outcome of the next 1 lines is unknown") {
		t.Errorf("append = %q; want it to say 0 lines committed and the outcome of the next 1 lines unknown, not that they were not committed", msg)
	}

	// The next append commits the pending batch: the line is in the log.
	if err := run("two\n"); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(fs.Backing, "app.log"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), "zero\none\ntwo\n"; got != want {
		t.Errorf("log holds %q; want %q", got, want)
	}
}
