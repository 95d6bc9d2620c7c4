//go:build linux

package writer

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// A regular file that appears at the link's name while fill runs (another
// process, outside sharedwrite) is not a symlink PublishDir made: the publish
// must refuse to replace it, as it refuses a file that was there at the start.
func TestPublishDirKeepsFileAppearingDuringFill(t *testing.T) {
	for _, initial := range []bool{false, true} {
		t.Run("published before="+strconv.FormatBool(initial), func(t *testing.T) {
			r, dir := openRoot(t)
			ctx := context.Background()
			if initial {
				if err := r.PublishDir(ctx, "site", fillVersion(1), 1); err != nil {
					t.Fatal(err)
				}
			}
			err := r.PublishDir(ctx, "site", func(d string) error {
				// Another process puts its own file at the name meanwhile.
				_ = os.Remove(filepath.Join(dir, "site"))
				if err := os.WriteFile(filepath.Join(dir, "site"), []byte("someone's data"), 0o644); err != nil {
					return err
				}
				return fillVersion(2)(d)
			}, 1)
			fi, lerr := os.Lstat(filepath.Join(dir, "site"))
			if lerr != nil || !fi.Mode().IsRegular() {
				t.Fatalf("PublishDir = %v; site afterwards: %v, %v; want the regular file that appeared kept (refused with fs.ErrExist)", err, fi.Mode(), lerr)
			}
			if !errors.Is(err, fs.ErrExist) {
				t.Errorf("PublishDir = %v; want fs.ErrExist", err)
			}
			if got := readString(t, filepath.Join(dir, "site")); got != "someone's data" {
				t.Errorf("site = %q; want the file that appeared, unchanged", got)
			}
			// The refused version is removed: only the first one is left.
			want := 0
			if initial {
				want = 1
			}
			if vs := versionDirs(t, dir, "site"); len(vs) != want {
				t.Errorf("versions left: %v; want %d", vs, want)
			}
			noTemps(t, dir)
		})
	}
}

// Versions are ordered by wall-clock nanoseconds: a version directory made
// by a host whose clock ran ahead (or before this host's clock was stepped
// back) has a larger number than every new one and is never pruned, however
// many versions are published after it with keep=0.
func TestPublishDirPrunesFutureNumberedVersion(t *testing.T) {
	r, dir := openRoot(t)
	ctx := context.Background()
	if err := r.PublishDir(ctx, "site", fillVersion(1), 0); err != nil {
		t.Fatal(err)
	}
	// A publish by a host whose clock is one hour ahead.
	ahead := ".site.v" + strconv.FormatInt(time.Now().Add(time.Hour).UnixNano(), 10)
	if err := os.Mkdir(filepath.Join(dir, ahead), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := fillVersion(2)(filepath.Join(dir, ahead)); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "site")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(ahead, filepath.Join(dir, "site")); err != nil {
		t.Fatal(err)
	}
	for v := 3; v <= 5; v++ {
		if err := r.PublishDir(ctx, "site", fillVersion(v), 0); err != nil {
			t.Fatalf("PublishDir v%d: %v", v, err)
		}
	}
	got, err := readVersion(filepath.Join(dir, "site"))
	if err != nil || got[0] != "v5" {
		t.Fatalf("site: %v, %v; want v5", got, err)
	}
	if vs := versionDirs(t, dir, "site"); len(vs) != 1 {
		t.Errorf("version directories after 3 publishes with keep=0: %d %v; want 1 (the current one)", len(vs), vs)
	}
}

// Pruning removes a version with os.Root: symlinks that fill put into a
// version (to a directory and a file outside the root) are removed as links,
// never followed.
func TestPublishDirPruneNeverFollowsSymlinks(t *testing.T) {
	r, dir := openRoot(t)
	outside := t.TempDir()
	mustWrite(t, filepath.Join(outside, "d", "keep"), "outside", 0o644)
	mustWrite(t, filepath.Join(outside, "f"), "outside", 0o644)
	ctx := context.Background()
	err := r.PublishDir(ctx, "site", func(d string) error {
		if err := os.Symlink(filepath.Join(outside, "d"), filepath.Join(d, "dl")); err != nil {
			return err
		}
		if err := os.Symlink(filepath.Join(outside, "f"), filepath.Join(d, "fl")); err != nil {
			return err
		}
		return fillVersion(1)(d)
	}, 0)
	if err != nil {
		t.Fatal(err)
	}
	for v := 2; v <= 3; v++ {
		if err := r.PublishDir(ctx, "site", fillVersion(v), 0); err != nil {
			t.Fatal(err)
		}
	}
	if got := readString(t, filepath.Join(outside, "d", "keep")); got != "outside" {
		t.Errorf("outside/d/keep = %q", got)
	}
	if got := readString(t, filepath.Join(outside, "f")); got != "outside" {
		t.Errorf("outside/f = %q", got)
	}
	if vs := versionDirs(t, dir, "site"); len(vs) != 1 {
		t.Errorf("versions left: %v; want 1", vs)
	}
}

// A context cancelled while fill runs: not published, link and directory as
// they were, the error wraps context.Canceled and names the path.
func TestPublishDirCancelDuringFill(t *testing.T) {
	r, dir := openRoot(t)
	if err := r.PublishDir(context.Background(), "a/site", fillVersion(1), 1); err != nil {
		t.Fatal(err)
	}
	before := snapshotOpt(t, dir, false)
	ctx, cancel := context.WithCancel(context.Background())
	err := r.PublishDir(ctx, "a/site", func(d string) error {
		cancel()
		return fillVersion(2)(d)
	}, 1)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("PublishDir = %v; want context.Canceled", err)
	}
	sameSnapshot(t, "after the cancelled publish", before, snapshotOpt(t, dir, false))
}

// Remove refuses a directory; a file swapped for an empty directory between
// the check and the unlink (here: during the PreCommit hook, the fence check
// in the coordinator) must not be removed either.
func TestRemoveKeepsDirectorySwappedIn(t *testing.T) {
	r, dir := openRoot(t)
	mustWrite(t, filepath.Join(dir, "f"), "data", 0o644)
	err := r.Remove(context.Background(), "f", PreCommit(func(context.Context, Change) error {
		if err := os.Remove(filepath.Join(dir, "f")); err != nil {
			return err
		}
		return os.Mkdir(filepath.Join(dir, "f"), 0o755)
	}))
	fi, lerr := os.Lstat(filepath.Join(dir, "f"))
	if lerr != nil {
		t.Fatalf("Remove = %v; the directory that took the file's place was removed (%v); want it kept and ErrNotRegular", err, lerr)
	}
	if !fi.IsDir() {
		t.Fatalf("f is %v", fi.Mode())
	}
	if err == nil {
		t.Errorf("Remove = nil; want an error (nothing removed)")
	}
}

// MkdirAll with a context that is already cancelled: cancel leaves state
// unchanged (STYLE), so nothing is created and the error says why.
func TestMkdirAllCancelledCreatesNothing(t *testing.T) {
	r, dir := openRoot(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := r.MkdirAll(ctx, "x/y/z", 0o755)
	_, serr := os.Stat(filepath.Join(dir, "x"))
	if err == nil || !errors.Is(serr, fs.ErrNotExist) {
		t.Errorf("MkdirAll with a cancelled ctx = %v, x: %v; want context.Canceled and nothing created", err, serr)
	}
}
