package coordinator

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/writer"
)

// Names of the writer's own hidden files (temps, in-place markers and
// backups), which Sweep removes by their names, are refused as targets
// (ErrInvalidName, exit 5): a user's file of such a name would be lost to a
// later Sweep. Nothing is created.
func TestReservedNamesRefused(t *testing.T) {
	root := t.TempDir()
	c := open(t, local, root)
	ctx := ctxT(t, 30*time.Second)
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "unknown"
	}
	host = strings.NewReplacer(".", "-", "/", "-", "\\", "-").Replace(host) // as temp names carry it
	for _, name := range []string{
		".notes.sw-inplace.intent",
		"d/.photos.sw-inplace.bak",
		".report.sw." + host + ".4242.12345.0badf00d.tmp",
	} {
		err := c.WriteFile(ctx, name, []byte("user data"), 0o644)
		if !errors.Is(err, writer.ErrInvalidName) || ExitCode(err) != ExitBadPath {
			t.Errorf("WriteFile(%q) = %v (exit %d); want ErrInvalidName (exit %d)", name, err, ExitCode(err), ExitBadPath)
		}
		if _, err := os.Lstat(filepath.Join(root, name)); !os.IsNotExist(err) {
			t.Errorf("%q after the refused write: %v; want it absent", name, err)
		}
	}
}

// An intent that Sweep removes because it names no staged temps is counted
// as discarded, not completed: nothing was renamed.
func TestSweepCountsDiscardedIntent(t *testing.T) {
	root := t.TempDir()
	c := open(t, local, root)
	ctx := ctxT(t, 30*time.Second)
	if err := c.WriteFile(ctx, "a", []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, filepath.Join(root, "notatemp"), "user data")
	in := txIntent{ID: newIntentID(), Created: time.Now(), Host: "h", PID: 1,
		Entries: []txEntry{{Target: "a", Temp: "notatemp", Size: 9}}}
	if err := writeIntent(c.root.OS(), in); err != nil {
		t.Fatal(err)
	}
	rep, err := c.Sweep(ctx, time.Hour)
	if err != nil {
		t.Fatalf("Sweep: %v", err)
	}
	if got := readFile(t, filepath.Join(root, "a")); got != "old" {
		t.Fatalf("a = %q; want it untouched", got)
	}
	if _, err := os.Lstat(filepath.Join(root, intentPath(in.ID))); err == nil {
		t.Fatalf("intent still there")
	}
	if rep.IntentsCompleted != 0 || rep.IntentsDiscarded != 1 {
		t.Errorf("report %+v: an intent removed without renaming anything counted IntentsCompleted=%d IntentsDiscarded=%d; want 0, 1",
			rep, rep.IntentsCompleted, rep.IntentsDiscarded)
	}
}
