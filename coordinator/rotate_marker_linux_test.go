//go:build linux

package coordinator

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/testrig/faultfs"
)

// progLog mounts a fault filesystem with prog.log, a log another program
// writes (its descriptor is returned), rotated once by copytruncate so that
// its record exists. It returns the generation after that rotation.
func progLog(t *testing.T) (*faultfs.FS, *Coordinator, *os.File, context.Context, uint64) {
	t.Helper()
	fs := faultfs.Mount(t, faultfs.Options{})
	c := open(t, local, fs.Dir)
	ctx := ctxT(t, 30*time.Second)
	prog, err := os.OpenFile(filepath.Join(fs.Dir, "prog.log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { prog.Close() })
	writeProg(t, prog, "a 1\n")
	r, err := c.Rotate(ctx, "prog.log", CopyTruncate())
	if err != nil {
		t.Fatal(err)
	}
	writeProg(t, prog, "b 2\n")
	return fs, c, prog, ctx, r.Generation
}

// TestCopyTruncateMarkerKeptWhenCommittedNotWritten: a copytruncate Rotate
// whose truncation happened but whose committed record could not be written
// (a failed pwrite, logged) leaves the rotation pending. Its marker must stay:
// it is what tells the next holder to complete the rotation in place. Without
// it the next holder took the rotation for a link rotation, found the live
// file no longer began with the copy, and withdrew a rotation that happened.
func TestCopyTruncateMarkerKeptWhenCommittedNotWritten(t *testing.T) {
	fs, c, prog, ctx, gen := progLog(t)
	// The Rotate writes the lock record twice: floor and pending, then
	// committed. The second write fails.
	fs.Set(faultfs.Fault{Op: faultfs.OpWrite, Glob: "*.lock", Errno: syscall.EIO, Skip: 1, Count: 1})
	r, err := c.Rotate(ctx, "prog.log", CopyTruncate())
	fs.Clear()
	if err != nil {
		t.Fatalf("Rotate = %v; want it committed (the truncation happened)", err)
	}
	rec, err := c.peekRecord("prog.log")
	if err != nil {
		t.Fatal(err)
	}
	if rec.Committed.Generation != gen || rec.Pending.Generation != gen+1 {
		t.Fatalf("record committed generation %d, pending %d; want %d and %d (the fault must hit the committed write)",
			rec.Committed.Generation, rec.Pending.Generation, gen, gen+1)
	}
	marker := filepath.Join(fs.Backing, copyTruncateMarker(r.Name))
	if _, err := os.Lstat(marker); err != nil {
		t.Fatalf("copytruncate marker of the pending rotation: %v; want it kept", err)
	}
	writeProg(t, prog, "c 3\n")
	r2, err := c.Rotate(ctx, "prog.log", CopyTruncate())
	if err != nil {
		t.Fatal(err)
	}
	if r2.Generation != gen+2 {
		t.Errorf("generation %d after the next rotation; want %d (the pending rotation completed, not withdrawn)", r2.Generation, gen+2)
	}
	if _, err := os.Lstat(marker); !os.IsNotExist(err) {
		t.Errorf("marker after the rotation was completed: %v; want it removed", err)
	}
	lines, _ := logLines(t, c, "prog.log")
	if got, want := strings.Join(lines, ""), "a 1\nb 2\nc 3\n"; got != want {
		t.Errorf("prog.log's files hold %q; want %q", got, want)
	}
}

// TestCopyTruncateMarkerKeptUntilRecordSynced: the committed record is
// written without fsync; a copytruncate marker removed before it is on disk
// could be gone after a crash while the record still says pending. When the
// record's fsync fails, the marker stays.
func TestCopyTruncateMarkerKeptUntilRecordSynced(t *testing.T) {
	fs, c, _, ctx, gen := progLog(t)
	// The first fsync of the lock file is that of floor and pending; the
	// second, of the committed record, fails.
	fs.Set(faultfs.Fault{Op: faultfs.OpFsync, Glob: "*.lock", Errno: syscall.EIO, Skip: 1, Count: 1})
	r, err := c.Rotate(ctx, "prog.log", CopyTruncate())
	fs.Clear()
	if err != nil {
		t.Fatalf("Rotate = %v; want it committed", err)
	}
	if r.Generation != gen+1 {
		t.Fatalf("generation %d; want %d", r.Generation, gen+1)
	}
	if _, err := os.Lstat(filepath.Join(fs.Backing, copyTruncateMarker(r.Name))); err != nil {
		t.Errorf("copytruncate marker after the committed record's fsync failed: %v; want it kept", err)
	}
}
