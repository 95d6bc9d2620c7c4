//go:build linux

package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/testrig/faultfs"
)

// TestAppendRotateAtUnconfirmedGoesOn: append --rotate-at on a volume that
// refuses a directory fsync once (the rotation's): that rotation and its batch
// are committed, durability unconfirmed. The lines after them are appended
// too, and append exits 7 (committed, durability unconfirmed) with every line
// of stdin in the log's files, each once.
func TestAppendRotateAtUnconfirmedGoesOn(t *testing.T) {
	fs := faultfs.Mount(t, faultfs.Options{})
	// One line per batch, and a rotation before each batch.
	run := appendRunner(t, fs.Dir, appendOpts{name: "app.log", maxBytes: 1, mode: "0644", maxQueued: 4, rotateAt: 1})
	if err := run("zero\n"); err != nil {
		t.Fatal(err)
	}
	fs.Set(faultfs.Fault{Op: faultfs.OpFsyncDir, Glob: ".", Errno: syscall.EIO, Count: 1})
	err := run("one\ntwo\nthree\n")
	fs.Clear()
	if fs.Injected(faultfs.OpFsyncDir) == 0 {
		t.Fatal("no directory fsync was refused")
	}
	if got := exitCode(err); got != exitUnconfirmed {
		t.Errorf("exit code %d (%v); want %d", got, err, exitUnconfirmed)
	}
	entries, rerr := os.ReadDir(fs.Backing)
	if rerr != nil {
		t.Fatal(rerr)
	}
	var lines []string
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), "app.log") {
			continue
		}
		b, rerr := os.ReadFile(filepath.Join(fs.Backing, e.Name()))
		if rerr != nil {
			t.Fatal(rerr)
		}
		lines = append(lines, strings.Fields(string(b))...)
	}
	sort.Strings(lines)
	if got, want := strings.Join(lines, " "), "one three two zero"; got != want {
		t.Errorf("the log's files hold %q; want %q (append: %v)", got, want, err)
	}
}

// TestAppendUnconfirmedThenFailedSaysBoth: a batch committed with its
// durability unconfirmed (its rotation's directory fsync refused), then a
// batch that fails: append exits with the failure's code, and its message
// says also that lines committed before are of unconfirmed durability.
func TestAppendUnconfirmedThenFailedSaysBoth(t *testing.T) {
	fs := faultfs.Mount(t, faultfs.Options{})
	g := &globals{root: fs.Dir, leaseTTL: 10 * time.Second, timeout: 30 * time.Second, logFormat: "text", logLevel: "error",
		stdin: strings.NewReader("one\ntwo\nthree\n"), stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}}
	logger, err := newLogger(g.stderr, "text", "error")
	if err != nil {
		t.Fatal(err)
	}
	g.logger = logger
	if err := os.WriteFile(filepath.Join(fs.Dir, "app.log"), []byte("zero\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// The first batch's rotation: its directory fsync refused. The second
	// batch's write into its new live file: EIO.
	fs.Set(faultfs.Fault{Op: faultfs.OpFsyncDir, Glob: ".", Errno: syscall.EIO, Count: 1},
		faultfs.Fault{Op: faultfs.OpWrite, Glob: "app.log", Errno: syscall.EIO, Skip: 1, Count: 1})
	err = runAppend(context.Background(), g, &appendOpts{name: "app.log", maxBytes: 1, mode: "0644", maxQueued: 4, rotateAt: 1})
	fs.Clear()
	if fs.Injected(faultfs.OpFsyncDir) == 0 || fs.Injected(faultfs.OpWrite) == 0 {
		t.Fatalf("faults injected: directory fsync %d, write %d; want both (append: %v)", fs.Injected(faultfs.OpFsyncDir), fs.Injected(faultfs.OpWrite), err)
	}
	t.Logf("append: %v", err)
	if got := exitCode(err); got == exitOK || got == exitUnconfirmed ||
		!strings.Contains(err.Error(), "1 lines committed") || !strings.Contains(err.Error(), "durability unconfirmed") {
		t.Errorf("append = %v (exit %d); want the failed batch's error and exit, saying 1 line committed and its durability unconfirmed", err, got)
	}
}
