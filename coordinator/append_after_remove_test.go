package coordinator

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestAppendAfterRemoveAdoptsRecreatedFile: after a Remove, the file is
// created again outside sharedwrite (a program writing its own log) and holds
// content. The next append adopts that file as it is, as for a key with no
// record, and appends after its content: the removal's version says nothing
// about the new file, and its content is no unacknowledged tail to cut.
func TestAppendAfterRemoveAdoptsRecreatedFile(t *testing.T) {
	root := t.TempDir()
	c := open(t, local, root)
	ctx := ctxT(t, 30*time.Second)
	a := c.Appender("app.log")
	defer a.Close()
	if err := a.Append(ctx, []byte("a 1\n")); err != nil {
		t.Fatal(err)
	}
	if err := c.Remove(ctx, "app.log"); err != nil {
		t.Fatal(err)
	}
	live := filepath.Join(root, "app.log")
	if err := os.WriteFile(live, []byte("prog 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := a.Append(ctx, []byte("b 2\n")); err != nil {
		t.Fatal(err)
	}
	if got, want := readFile(t, live), "prog 1\nb 2\n"; got != want {
		t.Errorf("app.log holds %q; want %q (the recreated file's content kept)", got, want)
	}
	rec, err := c.peekRecord("app.log")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := rec.Committed.Length, int64(len("prog 1\nb 2\n")); got != want {
		t.Errorf("committed length %d; want %d", got, want)
	}
}
