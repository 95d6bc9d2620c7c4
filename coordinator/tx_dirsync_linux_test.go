//go:build linux

package coordinator

import (
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/testrig/faultfs"
)

// On a volume whose directories refuse fsync with EINVAL (some FUSE and CIFS
// mounts), AcceptUnconfirmedDurability makes a write commit with a warning;
// a transaction commits there too: its intent's directory fsync is refused
// the same way, and the option accepts it as it does the renames'.
func TestTxAcceptsRefusedIntentDirSync(t *testing.T) {
	ffs := faultfs.Mount(t, faultfs.Options{})
	root := ffs.Dir
	c := open(t, local, root, AcceptUnconfirmedDurability())
	ctx := ctxT(t, time.Minute)
	names := []string{"d/a", "d/b"}
	if err := c.Tx(ctx, namedTxFiles("old", names...)); err != nil {
		t.Fatal(err)
	}
	ffs.Set(faultfs.Fault{Op: faultfs.OpFsyncDir, Errno: syscall.EINVAL})
	t.Cleanup(ffs.Clear)
	if err := c.WriteFile(ctx, "w", []byte("x"), 0o644); err != nil {
		t.Fatalf("WriteFile with directory fsync refused (EINVAL) and the option = %v; want nil", err)
	}
	err := c.Tx(ctx, namedTxFiles("new", names...))
	if n := ffs.Injected(faultfs.OpFsyncDir); n == 0 {
		t.Fatal("no directory fsync refused (the setup did not happen)")
	}
	if err != nil {
		t.Errorf("Tx with directory fsync refused (EINVAL) and AcceptUnconfirmedDurability = %v; want nil", err)
	}
	for _, n := range names {
		if got := readFile(t, filepath.Join(root, n)); got != n+"=new" {
			t.Errorf("%s = %q; want %q", n, got, n+"=new")
		}
	}
	if n := txIntents(t, root); n != 0 {
		t.Errorf("%d intents left; want none", n)
	}
}

// A transaction killed after its first rename, on a volume that then refuses
// directory fsync with EINVAL: the next holder of one of its keys, with
// AcceptUnconfirmedDurability, completes it and goes on. The intent's
// removal whose directory fsync is refused is no failure of the take: the
// intent is gone, and one that a crash brought back would name no temps
// left to rename.
func TestTxCompletionAcceptsRefusedIntentDirSync(t *testing.T) {
	ffs := faultfs.Mount(t, faultfs.Options{})
	root := ffs.Dir
	c := open(t, local, root, AcceptUnconfirmedDurability())
	ctx := ctxT(t, time.Minute)
	names := []string{"d/a", "d/b"}
	crashTx(t, root, 0, names)
	if n := txIntents(t, root); n != 1 {
		t.Fatalf("%d intents after the kill; want the transaction's one", n)
	}
	ffs.Set(faultfs.Fault{Op: faultfs.OpFsyncDir, Errno: syscall.EINVAL})
	t.Cleanup(ffs.Clear)
	var seen string
	err := c.Update(ctx, "d/b", func(old []byte, _ bool) ([]byte, error) {
		seen = string(old)
		return old, nil
	})
	if n := ffs.Injected(faultfs.OpFsyncDir); n == 0 {
		t.Fatal("no directory fsync refused (the setup did not happen)")
	}
	if err != nil || seen != "d/b=new" {
		t.Errorf("Update(d/b) after the kill, directory fsync refused (EINVAL), AcceptUnconfirmedDurability = %v, read %q; want nil and d/b=new", err, seen)
	}
	for _, n := range names {
		if got := readFile(t, filepath.Join(root, n)); got != n+"=new" {
			t.Errorf("%s = %q; want %q", n, got, n+"=new")
		}
	}
	if n := txIntents(t, root); n != 0 {
		t.Errorf("%d intents left; want none", n)
	}
}
