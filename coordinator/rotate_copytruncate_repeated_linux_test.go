//go:build linux

package coordinator

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/sharedwrite/sharedwrite/internal/testrig/faultfs"
)

// TestCopyTruncatePendingAfterRepeatedLine: a copytruncate Rotate truncated
// the live file, but its committed record was not written (the rotation stays
// pending, as after a crash between the truncation and the record). The
// program then writes the same line again (a heartbeat, a repeated message)
// and more. The next holder must not take the live file for the untruncated
// one: the first rotation's copy holds the only copy of its line, and the
// line written since is in the live file. Every line written must be in the
// log's files as many times as it was written, and the pending rotation must
// be completed, not withdrawn.
func TestCopyTruncatePendingAfterRepeatedLine(t *testing.T) {
	for _, tc := range []struct {
		name, after string
		opts        []LogOption
	}{
		{"same size", "b 2\n", nil},
		{"longer", "b 2\nc 3\n", nil},
		// The Rotate whose committed record failed still compresses its
		// copy: the plain rotated name is gone when the next holder looks.
		{"gzip", "b 2\n", []LogOption{Gzip()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs, c, prog, ctx, gen := progLog(t)
			opts := append([]LogOption{CopyTruncate()}, tc.opts...)
			// The second write of the lock record, the committed one, fails.
			fs.Set(faultfs.Fault{Op: faultfs.OpWrite, Glob: "*.lock", Errno: syscall.EIO, Skip: 1, Count: 1})
			r, err := c.Rotate(ctx, "prog.log", opts...)
			fs.Clear()
			if err != nil {
				t.Fatalf("Rotate = %v; want it committed (the truncation happened)", err)
			}
			rec, err := c.peekRecord("prog.log")
			if err != nil {
				t.Fatal(err)
			}
			if rec.Pending.Generation != gen+1 || rec.Committed.Generation != gen {
				t.Fatalf("record committed generation %d, pending %d; want %d and %d (the fault must hit the committed write)",
					rec.Committed.Generation, rec.Pending.Generation, gen, gen+1)
			}
			marker := filepath.Join(fs.Backing, copyTruncateMarker(strings.TrimSuffix(r.Name, ".gz")))
			if got, want := readFile(t, marker), truncatedMark; got != want {
				t.Errorf("copytruncate marker of the pending rotation holds %q; want %q", got, want)
			}
			writeProg(t, prog, tc.after)
			r2, err := c.Rotate(ctx, "prog.log", opts...)
			if err != nil {
				t.Fatal(err)
			}
			if r2.Generation != gen+2 {
				t.Errorf("generation %d after the next rotation; want %d (the pending rotation completed, not withdrawn)", r2.Generation, gen+2)
			}
			if _, err := os.Lstat(filepath.Join(fs.Backing, r.Name)); err != nil {
				t.Errorf("the rotated file %s that Rotate returned: %v", r.Name, err)
			}
			if _, err := os.Lstat(marker); !os.IsNotExist(err) {
				t.Errorf("marker after the rotation was completed: %v; want it removed", err)
			}
			lines, _ := logLines(t, c, "prog.log")
			if got, want := strings.Join(lines, ""), "a 1\nb 2\n"+tc.after; got != want {
				t.Errorf("prog.log's files hold %q; want %q", got, want)
			}
		})
	}
}

// TestCopyTruncatePendingUnmarkedComparesContent: when the truncation cannot
// be marked (the marker's write fails) the Rotate still commits, as the
// truncation happened; and when its committed record is not written either,
// the rotation is left pending with an empty marker, as after a crash
// between the truncation and its mark. The next holder then decides by
// content, as it does for a marker that was never marked: a live file that
// does not begin with the copy was truncated, and the rotation is completed.
func TestCopyTruncatePendingUnmarkedComparesContent(t *testing.T) {
	fs, c, prog, ctx, gen := progLog(t)
	fs.Set(
		faultfs.Fault{Op: faultfs.OpWrite, Glob: "*.sw-ct", Errno: syscall.EIO, Count: 1},
		faultfs.Fault{Op: faultfs.OpWrite, Glob: "*.lock", Errno: syscall.EIO, Skip: 1, Count: 1},
	)
	r, err := c.Rotate(ctx, "prog.log", CopyTruncate())
	injected := fs.Injected(faultfs.OpWrite)
	fs.Clear()
	if err != nil {
		t.Fatalf("Rotate = %v; want it committed (the truncation happened)", err)
	}
	if injected != 2 {
		t.Fatalf("%d writes failed; want 2 (the marker's and the committed record's)", injected)
	}
	if got, want := readFile(t, filepath.Join(fs.Backing, r.Name)), "b 2\n"; got != want {
		t.Errorf("rotated copy holds %q; want %q", got, want)
	}
	if got, want := readFile(t, filepath.Join(fs.Backing, "prog.log")), ""; got != want {
		t.Errorf("live file holds %q; want %q (truncated)", got, want)
	}
	marker := filepath.Join(fs.Backing, copyTruncateMarker(r.Name))
	if got, want := readFile(t, marker), ""; got != want {
		t.Fatalf("copytruncate marker holds %q; want %q (its write failed)", got, want)
	}
	writeProg(t, prog, "c 3\n")
	r2, err := c.Rotate(ctx, "prog.log", CopyTruncate())
	if err != nil {
		t.Fatal(err)
	}
	if r2.Generation != gen+2 {
		t.Errorf("generation %d after the next rotation; want %d (the pending rotation completed, not withdrawn)", r2.Generation, gen+2)
	}
	lines, _ := logLines(t, c, "prog.log")
	if got, want := strings.Join(lines, ""), "a 1\nb 2\nc 3\n"; got != want {
		t.Errorf("prog.log's files hold %q; want %q", got, want)
	}
}
