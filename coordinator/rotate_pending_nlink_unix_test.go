//go:build unix

package coordinator

import (
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/locking"
)

// A dead holder's link rotation whose rename did not happen, seen where two
// names of one file can show two inode numbers (a FUSE mount without
// use_ino). Stood in for here by two files with the same content, the
// rotated one with a second name: different inode numbers, and a link count
// of 2, as the live name still linking the rotated file leaves it. The next
// append must take the rotation as pending and replace the live file, never
// as done: its truncation to 0 would empty the file the rotated name shares.
func TestRotatePendingLinkedUnderUnstableInodes(t *testing.T) {
	root := t.TempDir()
	c := open(t, local, root, WithStaleWindow(0))
	ctx := ctxT(t, 30*time.Second)
	a := c.Appender("app.log")
	defer a.Close()
	if err := a.Append(ctx, []byte("old 1\n")); err != nil {
		t.Fatal(err)
	}
	fl, rec := lockRecord(t, c, ctx, "app.log")
	p := deadRotation(rec)
	if err := fl.WriteFloorPending(locking.Floor{Token: p.Token, LeaseID: p.LeaseID}, p); err != nil {
		t.Fatal(err)
	}
	fl.Unlock()
	rotated := filepath.Join(root, rotatedName("app.log", p.Time, p.Token))
	mustWrite(t, rotated, "old 1\n")
	if err := os.Link(rotated, filepath.Join(root, "second-name")); err != nil {
		t.Fatal(err)
	}
	// The live file as it was: what the rotated name shares on such a mount.
	live, err := os.Open(filepath.Join(root, "app.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()

	if err := a.Append(ctx, []byte("new 1\n")); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(io.NewSectionReader(live, 0, 1<<20))
	if err != nil {
		t.Fatal(err)
	}
	if want := "old 1\n"; string(got) != want {
		t.Errorf("the file that was live holds %q after the append; want %q (replaced, not truncated)", got, want)
	}
	if got, want := readFile(t, filepath.Join(root, "app.log")), "new 1\n"; got != want {
		t.Errorf("live file holds %q; want %q", got, want)
	}
	if got, want := readFile(t, rotated), "old 1\n"; got != want {
		t.Errorf("rotated file holds %q; want %q", got, want)
	}
}
