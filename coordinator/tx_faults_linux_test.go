//go:build linux

package coordinator

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
	"github.com/sharedwrite/sharedwrite/internal/testrig/faultfs"
	"github.com/sharedwrite/sharedwrite/writer"
)

// Past the commit point, a rename that fails leaves the staged temp for the
// intent: Tx retries it at once (one failure: committed, all new), and when
// the retry fails too, the intent stays and the next holder of any key
// completes it (all new, never a mix).
func TestTxRenameFailureAfterCommitPoint(t *testing.T) {
	fs := faultfs.Mount(t, faultfs.Options{})
	root := fs.Dir
	c := open(t, local, root)
	ctx := ctxT(t, 30*time.Second)
	if err := c.Tx(ctx, txFiles("old")); err != nil {
		t.Fatal(err)
	}
	// The first rename onto tx/b fails, without happening; Tx's retry works.
	fs.Set(faultfs.Fault{Op: faultfs.OpRename, Errno: syscall.EIO, Glob: "b", Count: 1})
	if err := c.Tx(ctx, txFiles("mid")); err != nil {
		t.Fatalf("Tx with one failed rename: %v; want nil (retried)", err)
	}
	if n := fs.Injected(faultfs.OpRename); n != 1 {
		t.Fatalf("%d renames failed; want 1", n)
	}
	fs.Clear()
	if got := readFile(t, filepath.Join(root, "tx/a")) + " " + readFile(t, filepath.Join(root, "tx/b")) + " " + readFile(t, filepath.Join(root, "tx/c")); got != "a-mid b-mid c-mid" {
		t.Fatalf("after Tx with a retried rename: %s; want a-mid b-mid c-mid", got)
	}
	// The rename onto tx/b and its retry both fail.
	fs.Set(faultfs.Fault{Op: faultfs.OpRename, Errno: syscall.EIO, Glob: "b", Count: 2})
	err := c.Tx(ctx, txFiles("new"))
	fs.Clear()
	if err == nil || !errors.Is(err, syscall.EIO) || !strings.Contains(err.Error(), "committed") {
		t.Fatalf("Tx = %v; want the rename's EIO, saying the transaction is committed", err)
	}
	// The next holder of any key completes the intent.
	var seen string
	if err := c.Update(ctx, "tx/b", func(old []byte, _ bool) ([]byte, error) {
		seen = string(old)
		return old, nil
	}); err != nil {
		t.Fatalf("Update of tx/b: %v", err)
	}
	if seen != "b-new" {
		t.Errorf("Update of tx/b read %q; want b-new (the transaction passed its commit point)", seen)
	}
	got := readFile(t, filepath.Join(root, "tx/a")) + " " + readFile(t, filepath.Join(root, "tx/b")) + " " + readFile(t, filepath.Join(root, "tx/c"))
	if got != "a-new b-new c-new" {
		t.Errorf("after completion: %s; want a-new b-new c-new (all or nothing)", got)
	}
}

// A Sweep that cannot complete an intent (here every rename onto tx/b fails)
// completes what it can (tx/c) and leaves the rest of the intent's staged
// temps: they are the committed transaction's content, not orphans. A later
// holder completes it.
func TestSweepKeepsTempsOfUncompletedIntent(t *testing.T) {
	fs := faultfs.Mount(t, faultfs.Options{})
	root := fs.Dir
	c := open(t, local, root)
	ctx := ctxT(t, time.Minute)
	if err := c.Tx(ctx, txFiles("old")); err != nil {
		t.Fatal(err)
	}
	if s := exitStatus(child(t, "tx-crash-after-rename", "SW_ROOT="+root).Run()); s != -1 {
		t.Fatalf("child exited %d; want killed", s)
	}
	if got := readFile(t, filepath.Join(root, "tx/b")); got != "b-old" {
		t.Fatalf("tx/b after the crash = %q; want b-old", got)
	}
	fs.Set(faultfs.Fault{Op: faultfs.OpRename, Errno: syscall.EIO, Glob: "b", Count: 1000})
	rep, err := c.Sweep(ctx, 0)
	fs.Clear()
	if !errors.Is(err, syscall.EIO) || rep.Kept != 1 || rep.Removed != 0 {
		t.Fatalf("Sweep = %+v, %v; want the completion's EIO, and tx/b's staged temp kept", rep, err)
	}
	if got := readFile(t, filepath.Join(root, "tx/c")); got != "c-new" {
		t.Errorf("tx/c after the Sweep = %q; want c-new (completed past the failing tx/b)", got)
	}

	// Any later holder completes the intent.
	if err := c.Update(ctx, "tx/c", func(old []byte, _ bool) ([]byte, error) { return old, nil }); err != nil {
		t.Fatalf("Update of tx/c: %v", err)
	}
	got := readFile(t, filepath.Join(root, "tx/a")) + " " + readFile(t, filepath.Join(root, "tx/b")) + " " + readFile(t, filepath.Join(root, "tx/c"))
	if got != "a-new b-new c-new" {
		t.Errorf("after Sweep and a later holder: %s; want a-new b-new c-new (the crash was past the commit point)", got)
	}
}

// A planted intent (the tx directory and the lock files are group-writable,
// see TestPlantedIntentNotCompleted) whose "staged temp" has a temp's name
// but is a symlink is discarded: the file it points at (a data file, or the
// volume's own metadata) is not renamed over the target.
func TestPlantedIntentSymlinkTemp(t *testing.T) {
	for _, tc := range []struct{ name, points string }{
		{"data file", "victim"},
		{"volume metadata", ".sharedwrite/volume-id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			c := open(t, local, root)
			ctx := ctxT(t, 30*time.Second)
			mustWrite(t, filepath.Join(root, "victim"), "keep me")
			before, err := os.ReadFile(filepath.Join(root, tc.points))
			if err != nil {
				t.Fatal(err)
			}

			temp := ".k.sw.h.1.1.00000000.tmp"
			if err := os.Symlink(tc.points, filepath.Join(root, temp)); err != nil {
				t.Fatal(err)
			}
			plantIntent(t, c, ctx, txIntent{Entries: []txEntry{{Target: "k", Temp: temp, Token: 1, LeaseID: "planted"}}})

			if err := c.WriteFile(ctx, "k", []byte("new"), 0o644); err != nil {
				t.Logf("WriteFile: %v", err)
			}
			got, err := os.ReadFile(filepath.Join(root, tc.points))
			if err != nil || string(got) != string(before) {
				t.Errorf("%s after the planted intent: %q, %v; want it untouched (%q)", tc.points, got, err, before)
			}
		})
	}
}

// A planted intent whose second target is reached through a symlinked
// directory ("lnk/volume-id", lnk -> .sharedwrite) is discarded: the
// volume's metadata is not replaced.
func TestPlantedIntentTargetThroughSymlinkedDir(t *testing.T) {
	root := t.TempDir()
	c := open(t, local, root)
	ctx := ctxT(t, 30*time.Second)
	before := readFile(t, filepath.Join(root, volumeIDFile))
	if err := os.Symlink(metaDir, filepath.Join(root, "lnk")); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, filepath.Join(root, ".k.sw.h.1.1.00000000.tmp"), "staged")
	mustWrite(t, filepath.Join(root, metaDir, ".volume-id.sw.h.1.1.00000000.tmp"), "planted\n")
	plantIntent(t, c, ctx, txIntent{Entries: []txEntry{
		{Target: "k", Temp: ".k.sw.h.1.1.00000000.tmp", Token: 1, LeaseID: "planted"},
		{Target: "lnk/volume-id", Temp: "lnk/.volume-id.sw.h.1.1.00000000.tmp", Token: 1, LeaseID: "planted"},
	}})

	if err := c.WriteFile(ctx, "k", []byte("new"), 0o644); err != nil {
		t.Errorf("WriteFile of k after the planted intent: %v; want it discarded and k written", err)
	}
	got, err := os.ReadFile(filepath.Join(root, volumeIDFile))
	if err != nil || string(got) != before {
		t.Errorf("%s after the planted intent: %q, %v; want it untouched (%q)", volumeIDFile, got, err, before)
	}
}

// A transaction refuses a target with a file bind-mounted onto it before its
// commit point, with or without InPlaceIfBusy: a rename cannot replace it,
// and an intent that cannot complete would hold the key for good. Nothing
// changes, and it returns (an in-place rewrite once made it wait for ever).
func TestTxRefusesBusyTarget(t *testing.T) {
	root := t.TempDir()
	c := open(t, local, root)
	ctx := ctxT(t, time.Minute)
	if err := c.Tx(ctx, txFiles("old")); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(t.TempDir(), "mounted")
	mustWrite(t, other, "b-mounted")
	testrig.BindMount(t, other, filepath.Join(root, "tx/b"))
	for _, opts := range [][]writer.Option{nil, {writer.InPlaceIfBusy()}} {
		done := make(chan error, 1)
		go func() { done <- c.Tx(ctx, txFiles("new"), opts...) }()
		select {
		case err := <-done:
			if !errors.Is(err, writer.ErrBusyTarget) {
				t.Fatalf("Tx (%d options) over a bind-mounted tx/b = %v; want ErrBusyTarget", len(opts), err)
			}
		case <-time.After(15 * time.Second):
			t.Fatalf("Tx (%d options) over a bind-mounted tx/b has not returned after 15s", len(opts))
		}
		got := readFile(t, filepath.Join(root, "tx/a")) + " " + readFile(t, filepath.Join(root, "tx/b")) + " " + readFile(t, filepath.Join(root, "tx/c"))
		if got != "a-old b-mounted c-old" {
			t.Fatalf("after the refused Tx: %s; want a-old b-mounted c-old", got)
		}
		if temps := tempsIn(t, filepath.Join(root, "tx")); len(temps) != 0 {
			t.Fatalf("temps left: %v", temps)
		}
	}
}

// A transaction refuses a name that is not valid UTF-8 before taking any
// lease: its intent is JSON, which would carry another name, and a crash
// past the commit point would then leave the transaction half done.
func TestTxRefusesNonUTF8Name(t *testing.T) {
	root := t.TempDir()
	c := open(t, local, root)
	ctx := ctxT(t, time.Minute)
	err := c.Tx(ctx, []TxFile{{Name: "a", Data: []byte("a")}, {Name: "\xff", Data: []byte("ff")}})
	if !errors.Is(err, writer.ErrInvalidName) || !strings.Contains(err.Error(), "UTF-8") {
		t.Fatalf("Tx with a non-UTF-8 name = %v; want ErrInvalidName naming UTF-8", err)
	}
	for _, name := range []string{"a", "\xff"} {
		if _, err := os.Lstat(filepath.Join(root, name)); !os.IsNotExist(err) {
			t.Errorf("%q after the refused Tx: %v; want it absent", name, err)
		}
	}
}
