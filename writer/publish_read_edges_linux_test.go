//go:build linux

package writer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
	"github.com/sharedwrite/sharedwrite/internal/testrig/faultfs"
)

// wantPublished checks that name (in dir) resolves to a complete version v.
func wantPublished(t *testing.T, dir, name string, v int) {
	t.Helper()
	got, err := readVersion(filepath.Join(dir, name))
	if err != nil {
		t.Fatalf("read %s: %v", name, err)
	}
	for _, g := range got {
		if g != fmt.Sprintf("v%d", v) {
			t.Errorf("%s: files of versions %v; want all v%d", name, got, v)
			return
		}
	}
}

// The prune of an old version in which a directory outside the root was
// bind-mounted leaves that mount, and the files in it, alone. os.Root's
// RemoveAll went into the mount and emptied the outside directory before its
// rmdir failed.
func TestPublishDirPruneLeavesMountedFiles(t *testing.T) {
	testrig.NeedRoot(t)
	r, dir := openRoot(t)
	ctx := context.Background()
	if err := r.PublishDir(ctx, "site", fillVersion(1), 0); err != nil {
		t.Fatal(err)
	}
	v1, err := os.Readlink(filepath.Join(dir, "site"))
	if err != nil {
		t.Fatal(err)
	}
	outside := t.TempDir()
	mustWrite(t, filepath.Join(outside, "precious"), "keep me", 0o644)
	testrig.BindMount(t, outside, filepath.Join(dir, v1, "sub"))
	if err := r.PublishDir(ctx, "site", fillVersion(2), 0); err != nil {
		t.Errorf("PublishDir: %v; want nil (published; the old version is left for a later prune)", err)
	}
	wantPublished(t, dir, "site", 2)
	if b, err := os.ReadFile(filepath.Join(outside, "precious")); err != nil || string(b) != "keep me" {
		t.Errorf("the prune of %s reached a file outside the root through a mount in it: %q, %v", v1, b, err)
	}

	// The old version itself a mount point.
	v2, err := os.Readlink(filepath.Join(dir, "site"))
	if err != nil {
		t.Fatal(err)
	}
	outside2 := t.TempDir()
	mustWrite(t, filepath.Join(outside2, "precious"), "keep me too", 0o644)
	testrig.BindMount(t, outside2, filepath.Join(dir, v2))
	if err := r.PublishDir(ctx, "site", fillVersion(3), 0); err != nil {
		t.Errorf("PublishDir: %v; want nil", err)
	}
	wantPublished(t, dir, "site", 3)
	if b, err := os.ReadFile(filepath.Join(outside2, "precious")); err != nil || string(b) != "keep me too" {
		t.Errorf("the prune of %s, itself a mount point, reached a file outside the root: %q, %v", v2, b, err)
	}
}

// A name removed by someone else while PublishDir fills the new version:
// nothing is published, and the error says that the name or the temp link
// was removed (ENOENT), not that it exists.
func TestPublishDirNameRemovedDuringFill(t *testing.T) {
	r, dir := openRoot(t)
	ctx := context.Background()
	if err := r.PublishDir(ctx, "site", fillVersion(1), 1); err != nil {
		t.Fatal(err)
	}
	err := r.PublishDir(ctx, "site", func(d string) error {
		if err := os.Remove(filepath.Join(dir, "site")); err != nil {
			return err
		}
		return fillVersion(2)(d)
	}, 1)
	if !errors.Is(err, syscall.ENOENT) || errors.Is(err, os.ErrExist) || !strings.Contains(err.Error(), "removed") {
		t.Errorf("PublishDir with its name removed meanwhile = %v; want ENOENT saying the name was removed", err)
	}
	if _, err := os.Lstat(filepath.Join(dir, "site")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("site after the refused publish: %v; want it absent, as its remover left it", err)
	}
}

// ReadFile ends with its deadline on a slow filesystem: it checks the
// context between steps of its read, not only between attempts. A 4 MiB
// file read at 100 ms per FUSE read took 1.7 s against a 500 ms deadline.
func TestReadFileDeadlineOnSlowReads(t *testing.T) {
	ffs := faultfs.Mount(t, faultfs.Options{})
	r, err := Open(ffs.Dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	mustWrite(t, filepath.Join(ffs.Backing, "f"), string(bytes.Repeat([]byte("x"), 4<<20)), 0o644)
	ffs.Set(faultfs.Fault{Op: faultfs.OpRead, Delay: 100 * time.Millisecond})
	defer ffs.Clear()
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = r.ReadFile(ctx, "f", Until(func(Content) bool { return false }, 0))
	if took := time.Since(start); took > time.Second || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("ReadFile with a 500ms deadline: %v after %v; want the deadline's error within 1s", err, took.Round(time.Millisecond))
	}
}
