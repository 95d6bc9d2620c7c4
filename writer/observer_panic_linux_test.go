//go:build linux

package writer

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
)

// recoverPanic runs f and returns what it panicked with.
func recoverPanic(f func()) (got any) {
	defer func() { got = recover() }()
	f()
	return nil
}

// TestObserverPanicInTheCopyLeavesNoTemp: with a TempDir on another device,
// Commit copies the temp beside the target (the EXDEV fallback); an observer
// that panics at that copy's "write" step gets its panic back, and neither
// temp is left (before, the copy stayed, open and flocked, which Sweep took
// for a live writer's).
func TestObserverPanicInTheCopyLeavesNoTemp(t *testing.T) {
	r, dir := openRoot(t)
	spool := filepath.Join(dir, "spool")
	if err := os.Mkdir(spool, 0o755); err != nil {
		t.Fatal(err)
	}
	testrig.BindMount(t, testrig.Tmpfs(t, "16m"), spool)
	writes := 0
	observe := Observe(func(ev Event) {
		if ev.Step == "write" && !strings.HasPrefix(ev.Path, "spool/") {
			writes++
			panic("observer at the copy")
		}
	})
	got := recoverPanic(func() {
		_ = r.WriteFile(context.Background(), "out.bin", []byte("data"), 0o644, TempDir("spool"), observe)
	})
	if got != "observer at the copy" || writes != 1 {
		t.Fatalf("recovered %v after %d copy writes; want the observer's panic at the copy", got, writes)
	}
	noTemps(t, dir)
	if _, err := os.Lstat(filepath.Join(dir, "out.bin")); !os.IsNotExist(err) {
		t.Errorf("out.bin: %v; want it not made", err)
	}
}

// TestObserverPanicKeepsAStagedTemp: with KeepStaged, a rename that fails
// after the PreCommit hooks accepted (the caller's commit point) keeps the
// temp for RenameStaged; an observer that panics at that failed rename must
// not remove it (before, the panic's clean-up did, and the transaction whose
// intent named it could never be completed).
func TestObserverPanicKeepsAStagedTemp(t *testing.T) {
	r, dir := openRoot(t)
	var staged string
	hook := PreCommit(func(_ context.Context, ch Change) error {
		staged = ch.Temp
		// The target becomes a directory: the rename over it fails.
		return os.Mkdir(filepath.Join(dir, "t"), 0o755)
	})
	observe := Observe(func(ev Event) {
		if ev.Step == "rename" && ev.Err != nil {
			panic("observer at the failed rename")
		}
	})
	f, err := r.Create(context.Background(), "t", 0o644, KeepStaged(), hook, observe)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("staged")); err != nil {
		t.Fatal(err)
	}
	if got := recoverPanic(func() { _ = f.Commit(context.Background()) }); got != "observer at the failed rename" {
		t.Fatalf("recovered %v; want the observer's panic", got)
	}
	if staged == "" {
		t.Fatal("the hook never ran")
	}
	if b, err := os.ReadFile(filepath.Join(dir, staged)); err != nil || string(b) != "staged" {
		t.Errorf("the staged temp %s: %q, %v; want it kept with its content", staged, b, err)
	}
}
