package writer

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
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

// perm is applied minus the umask in force at the call, as os.WriteFile does:
// a process that tightens its umask gets files no more open than it allows.
func TestUmaskReadAtEachCall(t *testing.T) {
	r, dir := openRoot(t)
	ctx := context.Background()
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	if err := r.WriteFile(ctx, "a", []byte("x"), 0o666); err != nil {
		t.Fatal(err)
	}
	syscall.Umask(0o077)
	if err := r.WriteFile(ctx, "b", []byte("x"), 0o666); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "ref"), []byte("x"), 0o666); err != nil {
		t.Fatal(err)
	}
	syscall.Umask(0o022)
	fa, _ := os.Stat(filepath.Join(dir, "a"))
	fb, _ := os.Stat(filepath.Join(dir, "b"))
	fr, _ := os.Stat(filepath.Join(dir, "ref"))
	if fa.Mode().Perm() != 0o644 {
		t.Errorf("a (umask 022): got %v; want -rw-r--r--", fa.Mode().Perm())
	}
	if fb.Mode().Perm() != fr.Mode().Perm() {
		t.Errorf("b (umask 077): got %v; os.WriteFile gives %v", fb.Mode().Perm(), fr.Mode().Perm())
	}
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
