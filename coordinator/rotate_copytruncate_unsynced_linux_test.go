//go:build linux

package coordinator

import (
	"strings"
	"syscall"
	"testing"

	"github.com/sharedwrite/sharedwrite/internal/testrig/faultfs"
)

// TestCopyTruncateTruncationFsyncFails: the live file's truncation took place
// but its fsync failed. The program's readers already see the file empty and
// the program writes on from there, so the rotation happened: its copy is the
// only copy of what it held and must stay, and the rotation is committed.
func TestCopyTruncateTruncationFsyncFails(t *testing.T) {
	fs, c, prog, ctx, gen := progLog(t)
	fs.Set(faultfs.Fault{Op: faultfs.OpFsync, Glob: "prog.log", Errno: syscall.EIO, Count: 1})
	r, err := c.Rotate(ctx, "prog.log", CopyTruncate())
	hits := fs.Injected(faultfs.OpFsync)
	fs.Clear()
	if hits == 0 {
		t.Fatal("the live file's fsync was never refused: the test does not reach the truncation")
	}
	if err != nil {
		t.Fatalf("Rotate = %v; want it committed (the truncation happened)", err)
	}
	if r.Generation != gen+1 {
		t.Errorf("generation %d; want %d", r.Generation, gen+1)
	}
	writeProg(t, prog, "c 3\n")
	lines, _ := logLines(t, c, "prog.log")
	if got, want := strings.Join(lines, ""), "a 1\nb 2\nc 3\n"; got != want {
		t.Errorf("prog.log's files hold %q; want %q", got, want)
	}
}
