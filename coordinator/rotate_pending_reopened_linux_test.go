//go:build linux

package coordinator

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/testrig/faultfs"
)

// TestRotatePendingAfterProgramReopened: a Rotate renamed the new live file
// over the name, but its committed record was not written (the rotation stays
// pending, as after a crash between the rename and the record). The program
// writing the log reopens it and writes lines that begin as the rotated file
// does (a start-up banner). The next holder must not take the live file for
// the rotated one, which it would replace by an empty file: on a filesystem
// whose inodes can be trusted, they are two files. Every line written must be
// in the log's files.
func TestRotatePendingAfterProgramReopened(t *testing.T) {
	fs := faultfs.Mount(t, faultfs.Options{})
	// A coherent filesystem, as a local disk is: inodes are trusted.
	c := open(t, local, fs.Dir, WithStaleWindow(0))
	ctx := ctxT(t, 30*time.Second)
	live := filepath.Join(fs.Dir, "prog.log")
	progWrite := func(s string) {
		f, err := os.OpenFile(live, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		writeProg(t, f, s)
	}
	progWrite("started\n")
	// Floor and pending are the first write of the lock record; the
	// committed one, the second, fails.
	fs.Set(faultfs.Fault{Op: faultfs.OpWrite, Glob: "*.lock", Errno: syscall.EIO, Skip: 1, Count: 1})
	r, err := c.Rotate(ctx, "prog.log")
	fs.Clear()
	if err != nil {
		t.Fatalf("Rotate = %v; want it committed (the rename happened)", err)
	}
	rec, err := c.peekRecord("prog.log")
	if err != nil {
		t.Fatal(err)
	}
	if rec.Pending.Generation != rec.Committed.Generation+1 {
		t.Fatalf("record committed generation %d, pending %d; the fault must hit the committed write", rec.Committed.Generation, rec.Pending.Generation)
	}
	progWrite("started\nb 2\n")
	if _, err := c.Rotate(ctx, "prog.log"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(fs.Backing, r.Name)); err != nil {
		t.Errorf("the rotated file %s that Rotate returned: %v", r.Name, err)
	}
	lines, _ := logLines(t, c, "prog.log")
	if got, want := strings.Join(lines, ""), "started\nstarted\nb 2\n"; got != want {
		t.Errorf("prog.log's files hold %q; want %q", got, want)
	}
}
