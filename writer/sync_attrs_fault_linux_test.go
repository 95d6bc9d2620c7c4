//go:build linux

package writer

import (
	"context"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
	"github.com/sharedwrite/sharedwrite/internal/testrig/faultfs"
)

// A commit after Sync that finds another file at the target and fails to
// open it for its extended attributes (EIO: not a refusal that is passed
// over) commits nothing: that file keeps its content, mode and attributes,
// and the directory holds no temp.
func TestSyncThenTargetOpenFailsLeavesTarget(t *testing.T) {
	mnt := faultfs.Mount(t, faultfs.Options{})
	r, err := Open(mnt.Dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	ctx := context.Background()
	target := filepath.Join(mnt.Dir, "f")
	mustWrite(t, target, "old", 0o640)
	testrig.SetXattr(t, target, "user.origin", []byte("spool-7"))

	f, err := r.Create(ctx, "f", 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("new")); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatalf("Sync: %v", err)
	}
	other := filepath.Join(mnt.Dir, "g")
	mustWrite(t, other, "second", 0o604)
	if err := os.Chmod(other, 0o604); err != nil {
		t.Fatal(err)
	}
	testrig.SetXattr(t, other, "user.shared", []byte("second"))
	if err := os.Rename(other, target); err != nil {
		t.Fatal(err)
	}
	wantAttrs, wantMode := xattrsOf(t, target), statMode(t, target)
	mnt.Set(faultfs.Fault{Op: faultfs.OpOpen, Errno: syscall.EIO, Glob: "f"})
	err = f.Commit(ctx)
	mnt.Clear()
	if !errors.Is(err, syscall.EIO) {
		t.Fatalf("Commit: %v; want an error wrapping EIO", err)
	}
	t.Logf("Commit: %v", err)
	if got := readString(t, target); got != "second" {
		t.Errorf("content %q; want %q (the target's)", got, "second")
	}
	if got := xattrsOf(t, target); !maps.Equal(got, wantAttrs) {
		t.Errorf("extended attributes: got %q; want %q (the target's)", got, wantAttrs)
	}
	if got := statMode(t, target); got != wantMode {
		t.Errorf("mode: got %v; want %v (the target's)", got, wantMode)
	}
	ents, err := os.ReadDir(mnt.Backing)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if want := []string{"f"}; !slices.Equal(names, want) {
		t.Errorf("directory holds %q; want %q (no temp left)", names, want)
	}
}
