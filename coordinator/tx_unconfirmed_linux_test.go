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
	"github.com/sharedwrite/sharedwrite/writer"
)

// Past the commit point the first rename happens but its directory fsync is
// refused (ErrDurabilityUnconfirmed), and the rename of the second file fails
// twice (the rename and Tx's retry). The transaction is committed: either
// every file is new when Tx returns, or the intent stays so that the next
// holder completes it. It must not drop the intent with d2/b still old.
func TestTxUnconfirmedThenRenameFailure(t *testing.T) {
	ffs := faultfs.Mount(t, faultfs.Options{})
	root := ffs.Dir
	c := open(t, local, root)
	ctx := ctxT(t, time.Minute)
	names := []string{"d1/a", "d2/b"}
	if err := c.Tx(ctx, namedTxFiles("old", names...)); err != nil {
		t.Fatal(err)
	}
	ffs.Set(
		faultfs.Fault{Op: faultfs.OpFsyncDir, Errno: syscall.EIO, Glob: "d1"},
		faultfs.Fault{Op: faultfs.OpRename, Errno: syscall.EIO, Glob: "b", Count: 2},
	)
	err := c.Tx(ctx, namedTxFiles("new", names...))
	ffs.Clear()
	t.Logf("Tx = %v", err)
	if n := ffs.Injected(faultfs.OpRename); n != 2 {
		t.Fatalf("%d renames failed; want 2 (the setup did not happen)", n)
	}
	if !errors.Is(err, writer.ErrDurabilityUnconfirmed) && !errors.Is(err, syscall.EIO) {
		t.Fatalf("Tx = %v; want an error", err)
	}
	b := readFile(t, filepath.Join(root, "d2/b"))
	intents := txIntents(t, root)
	if b != "d2/b=new" && intents == 0 {
		t.Errorf("after Tx: d2/b = %q with %d intents left; want d2/b=new, or the intent kept for the next holder (the transaction passed its commit point)", b, intents)
	}
	if !strings.Contains(err.Error(), "d2/b") && b != "d2/b=new" {
		t.Errorf("Tx = %v; want it to name d2/b, whose rename failed", err)
	}
	// The next holder of d2/b sees the transaction's version.
	var seen string
	uctx := ctxT(t, 3*time.Second)
	if err := c.Update(uctx, "d2/b", func(old []byte, _ bool) ([]byte, error) {
		seen = string(old)
		return old, nil
	}); err != nil {
		t.Logf("Update(d2/b): %v", err)
	}
	got := readFile(t, filepath.Join(root, "d1/a")) + " " + readFile(t, filepath.Join(root, "d2/b"))
	if seen != "d2/b=new" || got != "d1/a=new d2/b=new" {
		t.Errorf("after the next holder of d2/b: Update read %q, files %q; want d2/b=new and both new", seen, got)
	}
}
