package writer

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// A name with a trailing slash (or ending in "/.") names a directory: writing
// it never creates a regular file of the name without the slash.
func TestTrailingSlashNamesNoFile(t *testing.T) {
	r, dir := openRoot(t)
	ctx := context.Background()
	for _, name := range []string{"d1/", "d2/.", "sub/e/"} {
		err := r.WriteFile(ctx, name, []byte("x"), 0o644)
		base := filepath.Join(dir, filepath.FromSlash(filepath.Clean(name)))
		fi, serr := os.Lstat(base)
		if err == nil || serr == nil {
			t.Errorf("WriteFile(%q): err=%v; %s exists=%v (mode %v); want an error and nothing created", name, err, base, serr == nil, modeOf(fi))
		}
	}
	noTemps(t, dir)
}

func modeOf(fi os.FileInfo) any {
	if fi == nil {
		return nil
	}
	return fi.Mode()
}

// A name whose resolution ends in ".." (a symlink "a/l" -> "x/..") names the
// existing directory "a": it is refused as not a regular file, never taken for
// an absent target that a write may create (or, create-only, a race lost).
func TestSymlinkEndingInDotDotIsADirectory(t *testing.T) {
	r, dir := openRoot(t)
	if err := os.MkdirAll(filepath.Join(dir, "a", "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("x/..", filepath.Join(dir, "a", "l")); err != nil {
		t.Fatal(err)
	}
	rel, fi, err := r.resolve("a/l")
	if err == nil && (rel != "a" || fi == nil || !fi.IsDir()) {
		t.Errorf("resolve(a/l) = %q, Lstat %v; want \"a\" with its directory Lstat", rel, modeOf(fi))
	}
	err = r.WriteFile(context.Background(), "a/l", []byte("x"), 0o644)
	if !errors.Is(err, ErrNotRegular) {
		t.Errorf("WriteFile(a/l): got %v; want ErrNotRegular", err)
	}
	err = r.WriteFile(context.Background(), "a/l", []byte("x"), 0o644, CreateOnly())
	if errors.Is(err, ErrExist) || !errors.Is(err, ErrNotRegular) {
		t.Errorf("WriteFile(a/l, CreateOnly): got %v; want ErrNotRegular (not ErrExist: no file won a race)", err)
	}
	noTemps(t, dir)
}
