//go:build linux

package coordinator

import (
	"errors"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/testrig/faultfs"
)

// TestAppendRotateAtSizeUnconfirmedDurability: a size rotation whose
// directory fsync is refused is visible (the new live file is at the name),
// so the batch after it is appended to the new file. An Append that returns
// an error wrapping ErrDurabilityUnconfirmed ("committed, durability
// unconfirmed", exit 7) must have its record in the log, and the rotation
// must be recorded as committed. A record queued behind that batch is not
// aborted by it (the batch did not fail), and is committed in turn.
func TestAppendRotateAtSizeUnconfirmedDurability(t *testing.T) {
	fs := faultfs.Mount(t, faultfs.Options{})
	c := open(t, local, fs.Dir)
	// One record per batch: "three 3" waits behind "two 2".
	ctx := ctxT(t, 30*time.Second)
	a := c.Appender("app.log", RotateAtSize(1), MaxBatchBytes(1))
	t.Cleanup(func() { a.Close() })
	if err := a.Append(ctx, []byte("one 1\n")); err != nil {
		t.Fatal(err)
	}
	fs.Set(faultfs.Fault{Op: faultfs.OpFsyncDir, Glob: ".", Errno: syscall.EIO, Count: 1})
	two, three := a.AppendAsync([]byte("two 2\n")), a.AppendAsync([]byte("three 3\n"))
	err := <-two
	fs.Clear()
	if err3 := <-three; err3 != nil {
		t.Errorf("the record queued behind the batch: %v; want nil (committed)", err3)
	}
	if fs.Injected(faultfs.OpFsyncDir) == 0 {
		t.Fatal("no directory fsync was refused")
	}
	// The refused directory fsync can only be the rotation's (the batch
	// after it makes no name): the batch is committed, its durability
	// unconfirmed, and its record is in the new live file, which the next
	// batch's rotation ("three 3") then moved to the newest rotated name.
	if !errors.Is(err, ErrDurabilityUnconfirmed) {
		t.Errorf("Append = %v; want an error wrapping ErrDurabilityUnconfirmed (committed, durability unconfirmed)", err)
	}
	rotated, lerr := c.RotatedFiles("app.log")
	if lerr != nil {
		t.Fatal(lerr)
	}
	if len(rotated) == 0 {
		t.Fatal("no rotated file")
	}
	if got := readFile(t, filepath.Join(fs.Backing, rotated[len(rotated)-1].Name)); got != "two 2\n" {
		lines, files := logLines(t, c, "app.log")
		t.Errorf("the live file the batch went to holds %q (the log's %d files: %q); want the batch's record %q", got, files, lines, "two 2\n")
	}
	rec, rerr := c.peekRecord("app.log")
	if rerr != nil {
		t.Fatal(rerr)
	}
	if got := readFile(t, filepath.Join(fs.Backing, "app.log")); rec.Committed.Length != int64(len(got)) || rec.Committed.Generation != 2 {
		t.Errorf("committed length %d, generation %d; the live file holds %q after two rotations", rec.Committed.Length, rec.Committed.Generation, got)
	}
}

// TestAppendNewLogRefusedDirSync: on a volume that refuses every directory
// fsync (EINVAL, as some FUSE and CIFS mounts do), the first append to a new
// log (in a new directory) succeeds under AcceptUnconfirmedDurability, as a
// write does, and its record is in the log; without the option it fails,
// naming the directory, and does not say "committed, durability
// unconfirmed" for a record it did not write.
func TestAppendNewLogRefusedDirSync(t *testing.T) {
	for _, accept := range []bool{true, false} {
		fs := faultfs.Mount(t, faultfs.Options{})
		var opts []Option
		if accept {
			opts = append(opts, AcceptUnconfirmedDurability())
		}
		c := open(t, local, fs.Dir, opts...)
		ctx := ctxT(t, 30*time.Second)
		fs.Set(faultfs.Fault{Op: faultfs.OpFsyncDir, Errno: syscall.EINVAL})
		a := c.Appender("logs/app.log")
		err := a.Append(ctx, []byte("one\n"))
		a.Close()
		fs.Clear()
		if fs.Injected(faultfs.OpFsyncDir) == 0 {
			t.Fatalf("accept=%v: no directory fsync was refused (Append: %v)", accept, err)
		}
		switch {
		case accept && err != nil:
			t.Errorf("Append to a new log, directory fsync refused, AcceptUnconfirmedDurability: %v; want nil", err)
		case accept && readFile(t, filepath.Join(fs.Dir, "logs/app.log")) != "one\n":
			t.Errorf("logs/app.log = %q; want the record", readFile(t, filepath.Join(fs.Dir, "logs/app.log")))
		case !accept && (err == nil || !errors.Is(err, syscall.EINVAL) || errors.Is(err, ErrDurabilityUnconfirmed) || !strings.Contains(err.Error(), `"logs"`)):
			// Nothing is appended: not "committed, durability
			// unconfirmed", which the Appender and the CLI count as
			// committed.
			t.Errorf("Append to a new log, directory fsync refused: %v; want an error naming the new directory, wrapping EINVAL, not ErrDurabilityUnconfirmed", err)
		}
	}
}
