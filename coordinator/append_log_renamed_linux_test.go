//go:build linux

package coordinator

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/testrig/faultfs"
)

// TestAppendOpenFollowsFileRenamedOverName: another rotation tool moves the
// log aside and creates a new one at its name between the Appender's open of
// the log and its check that the file open is the one the name leads to. The
// Appender opens the file now at the name, once more, and appends there: a
// regular file renamed over the name is no symlink put there, and no error.
func TestAppendOpenFollowsFileRenamedOverName(t *testing.T) {
	mnt := faultfs.Mount(t, faultfs.Options{})
	c := open(t, local, mnt.Dir, WithStaleWindow(0))
	ctx := ctxT(t, 30*time.Second)
	backing := filepath.Join(mnt.Backing, "app.log")
	mustWrite(t, backing, "old\n")
	opened, swapped := false, false
	// Match runs in the mount's goroutines before each matching operation:
	// once the log is opened, the next lookup of its name (the check after
	// the open) finds the new file, made in the backing directory.
	mnt.Set(faultfs.Fault{Op: faultfs.OpOpen, Glob: "app.log", Match: func(string) bool {
		opened = true
		return false
	}})
	mnt.Add(faultfs.Fault{Op: faultfs.OpLookup, Glob: "app.log", Match: func(string) bool {
		if opened && !swapped {
			swapped = true
			if err := os.Rename(backing, backing+".moved"); err != nil {
				t.Error(err)
			}
			if err := os.WriteFile(backing, []byte("new\n"), 0o644); err != nil {
				t.Error(err)
			}
		}
		return false
	}})
	a := c.Appender("app.log")
	defer a.Close()
	err := a.Append(ctx, []byte("rec\n"))
	mnt.Clear()
	if !swapped {
		t.Fatalf("Append = %v; the log was never replaced after its open", err)
	}
	if err != nil {
		t.Errorf("Append = %v; want nil (the file renamed over the name opened in turn)", err)
	}
	if got, want := readFile(t, backing), "new\nrec\n"; got != want {
		t.Errorf("the log at the name holds %q; want %q", got, want)
	}
	if got, want := readFile(t, backing+".moved"), "old\n"; got != want {
		t.Errorf("the log moved aside holds %q; want %q", got, want)
	}
}
