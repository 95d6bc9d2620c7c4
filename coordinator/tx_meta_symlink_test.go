package coordinator

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// .sharedwrite/tx replaced by a symlink (the volume's metadata is group
// writable) to a data directory must not make the transaction write its
// intent there: the design opens everything under .sharedwrite/ with
// O_NOFOLLOW and checks it is a directory.
func TestTxIntentDirSymlink(t *testing.T) {
	root := t.TempDir()
	c := open(t, local, root)
	ctx := ctxT(t, 30*time.Second)
	if err := c.Tx(ctx, namedTxFiles("old", "t/a", "t/b")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(root, "pub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(root, txDir)); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../pub", filepath.Join(root, txDir)); err != nil {
		t.Fatal(err)
	}
	seen := make(chan []string, 1)
	txBeforeIntent = nil
	txAfterRename = func(i int) {
		if i == 0 {
			es, _ := os.ReadDir(filepath.Join(root, "pub"))
			var ns []string
			for _, e := range es {
				ns = append(ns, e.Name())
			}
			seen <- ns
		}
	}
	t.Cleanup(func() { txAfterRename = nil })
	err := c.Tx(ctx, namedTxFiles("new", "t/a", "t/b"))
	t.Logf("Tx = %v", err)
	select {
	case ns := <-seen:
		if len(ns) != 0 {
			t.Errorf("pub/ (a data directory) held %q while the transaction renamed; want the intent never written through the symlinked .sharedwrite/tx", ns)
		}
	default:
		if err == nil {
			t.Errorf("Tx = nil without renaming")
		}
	}
}

// With .sharedwrite/tx replaced by a symlink to a data directory, Sweep must
// not delete that directory's files as torn intents (a name such as
// "2024-01-01" has an intent id's characters).
func TestSweepIntentDirSymlink(t *testing.T) {
	root := t.TempDir()
	c := open(t, local, root)
	ctx := ctxT(t, 30*time.Second)
	mustWrite(t, filepath.Join(root, "reports", "2024-01-01"), "the report")
	if err := os.RemoveAll(filepath.Join(root, txDir)); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../reports", filepath.Join(root, txDir)); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-2 * time.Hour)
	os.Chtimes(filepath.Join(root, "reports", "2024-01-01"), old, old)
	rep, err := c.Sweep(ctx, time.Hour)
	t.Logf("Sweep = %+v, %v", rep, err)
	if got, err := os.ReadFile(filepath.Join(root, "reports", "2024-01-01")); err != nil || string(got) != "the report" {
		t.Errorf("reports/2024-01-01 after Sweep: %q, %v; want it untouched", got, err)
	}
	// A replica opened now.
	if c2, err := Open(ctx, root); err == nil {
		c2.Close()
		t.Logf("Open with .sharedwrite/tx a symlink: accepted")
	} else {
		t.Logf("Open with .sharedwrite/tx a symlink: %v", err)
	}
}
