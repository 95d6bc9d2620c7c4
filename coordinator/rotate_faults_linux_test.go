//go:build linux

package coordinator

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/testrig/faultfs"
)

// TestRotateFailedRecordFsyncIsWithdrawn: a Rotate whose pending record's
// fsync fails returns an error and makes no rotation: the pending rotation is
// withdrawn, so the next holder (here an append) does not complete it.
func TestRotateFailedRecordFsyncIsWithdrawn(t *testing.T) {
	fs, c, a, ctx := faultyLog(t)
	fs.Set(faultfs.Fault{Op: faultfs.OpFsync, Glob: "*.lock", Errno: syscall.EIO, Count: 1})
	_, err := c.Rotate(ctx, "app.log")
	fs.Clear()
	if err == nil {
		t.Fatal("Rotate succeeded although its record's fsync failed")
	}
	if errors.Is(err, ErrOutcomeUnknown) {
		t.Fatalf("Rotate = %v; want a plain failure (the withdrawal succeeded)", err)
	}
	noRotation(t, fs, c, a, ctx)
	rec, err := c.peekRecord("app.log")
	if err != nil {
		t.Fatal(err)
	}
	if rec.Committed.Generation != 0 {
		t.Errorf("generation %d after a failed rotation; want 0", rec.Committed.Generation)
	}
}

// TestRotateFailedRenameIsWithdrawn: a Rotate whose rename of the new live
// file fails, after its pending record and its link were made, returns an
// error and makes no rotation: the link is removed and the rotation withdrawn.
func TestRotateFailedRenameIsWithdrawn(t *testing.T) {
	fs, c, a, ctx := faultyLog(t)
	fs.Set(faultfs.Fault{Op: faultfs.OpRename, Glob: "app.log", Errno: syscall.EIO})
	_, err := c.Rotate(ctx, "app.log")
	fs.Clear()
	if err == nil {
		t.Fatal("Rotate succeeded although its rename failed")
	}
	if errors.Is(err, ErrOutcomeUnknown) {
		t.Fatalf("Rotate = %v; want a plain failure (the withdrawal succeeded)", err)
	}
	noRotation(t, fs, c, a, ctx)
}

// TestCopyTruncateFailedTruncateIsWithdrawn: a copytruncate Rotate whose
// truncation fails (here: the open of the live file for it) returns an error
// naming that step and makes no rotation: its published copy is removed and
// its pending rotation withdrawn. The next Rotate must not complete the
// failed one by renaming a new file over the name, which would leave the
// program writing to an unlinked file.
func TestCopyTruncateFailedTruncateIsWithdrawn(t *testing.T) {
	fs := faultfs.Mount(t, faultfs.Options{})
	c := open(t, local, fs.Dir)
	ctx := ctxT(t, 30*time.Second)
	live := filepath.Join(fs.Dir, "prog.log")
	prog, err := os.OpenFile(live, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer prog.Close()
	writeProg(t, prog, "a 1\n")
	// copyTruncateHeld opens prog.log twice: to copy it, then to truncate it.
	fs.Set(faultfs.Fault{Op: faultfs.OpOpen, Glob: "prog.log", Errno: syscall.EIO, Skip: 1})
	_, err = c.Rotate(ctx, "prog.log", CopyTruncate())
	fs.Clear()
	if err == nil {
		t.Fatal("copytruncate Rotate succeeded although its truncation could not open the file")
	}
	if !strings.Contains(err.Error(), "open for truncate") || !strings.Contains(err.Error(), "prog.log") || !errors.Is(err, syscall.EIO) {
		t.Errorf("Rotate = %v; want the step (open for truncate), the path and EIO", err)
	}
	if files, err := c.RotatedFiles("prog.log"); err != nil || len(files) != 0 {
		t.Errorf("rotated files %v, %v after a failed rotation; want none", files, err)
	}
	writeProg(t, prog, "b 2\n")
	if _, err := c.Rotate(ctx, "prog.log", CopyTruncate()); err != nil {
		t.Fatal(err)
	}
	writeProg(t, prog, "c 3\n")
	pfi, err := prog.Stat()
	if err != nil {
		t.Fatal(err)
	}
	lfi, err := os.Stat(live)
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(pfi, lfi) {
		t.Errorf("a copytruncate Rotate replaced prog.log: the program's descriptor points at an unlinked file")
	}
	lines, files := logLines(t, c, "prog.log")
	if got, want := strings.Join(lines, ""), "a 1\nb 2\nc 3\n"; got != want {
		t.Errorf("prog.log's files (%d) hold %q; want %q, each record once", files, got, want)
	}
}

// TestCopyTruncateLeavesOutFailedBatch: for a log an Appender writes, a
// copytruncate rotation copies only the committed length. A batch that failed
// after its data reached the file (here: the data's fsync fails) is not
// committed and its caller retries it: its bytes must not reach the rotated
// copy, or the record would be there twice.
func TestCopyTruncateLeavesOutFailedBatch(t *testing.T) {
	fs, c, a, ctx := faultyLog(t)
	fs.Set(faultfs.Fault{Op: faultfs.OpFsync, Glob: "app.log", Errno: syscall.EIO, Count: 1})
	err := a.Append(ctx, []byte("two 2\n"))
	fs.Clear()
	if err == nil {
		t.Fatal("Append succeeded although the data's fsync failed")
	}
	r, err := c.Rotate(ctx, "app.log", CopyTruncate())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := readFile(t, filepath.Join(fs.Backing, r.Name)), "one 1\n"; got != want {
		t.Errorf("rotated copy holds %q; want %q", got, want)
	}
	// The caller retries the record that failed.
	if err := a.Append(ctx, []byte("two 2\n")); err != nil {
		t.Fatal(err)
	}
	lines, _ := logLines(t, c, "app.log")
	checkRecords(t, lines)
	if got, want := strings.Join(lines, ""), "one 1\ntwo 2\n"; got != want {
		t.Errorf("app.log's files hold %q; want %q", got, want)
	}
}

func writeProg(t *testing.T, f *os.File, s string) {
	t.Helper()
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
}

// noRotation checks that app.log was not rotated: the next append lands in
// the live file after "one 1", and there is no rotated file.
func noRotation(t *testing.T, fs *faultfs.FS, c *Coordinator, a *Appender, ctx context.Context) {
	t.Helper()
	if err := a.Append(ctx, []byte("two 2\n")); err != nil {
		t.Fatal(err)
	}
	if got, want := readFile(t, filepath.Join(fs.Backing, "app.log")), "one 1\ntwo 2\n"; got != want {
		t.Errorf("live file holds %q; want %q (the failed rotation was completed)", got, want)
	}
	if files, err := c.RotatedFiles("app.log"); err != nil || len(files) != 0 {
		t.Errorf("rotated files %v, %v; want none", files, err)
	}
}
