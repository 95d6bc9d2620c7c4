//go:build unix

package writer

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// MkdirAll with Mode gives the directories it creates that mode exactly,
// whatever the umask, and their parents owner write and search besides (so
// that "a/b" with 0555 can be made); a directory that existed keeps its mode.
func TestMkdirAllModeExact(t *testing.T) {
	r, dir := openRoot(t)
	ctx := context.Background()
	old := syscall.Umask(0o077)
	defer syscall.Umask(old)
	if err := os.Mkdir(filepath.Join(dir, "had"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := r.MkdirAll(ctx, "had/g/h", 0o770, Mode(0o770)); err != nil {
		t.Fatal(err)
	}
	if err := r.MkdirAll(ctx, "ro/x", 0o555, Mode(0o555)); err != nil {
		t.Fatal(err)
	}
	if err := r.MkdirAll(ctx, "plain", 0o770); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]fs.FileMode{
		"had": 0o700, "had/g": 0o770, "had/g/h": 0o770,
		"ro": 0o755, "ro/x": 0o555,
		"plain": 0o700, // without Mode: less the umask, as os.MkdirAll
	} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s: mode %04o; want %04o", name, got, want)
		}
	}
}

// SourcePath resolves a move source's directory as the kernel does (".."
// after a symlink climbs from its target) and refuses names that can only be
// directories, sharedwrite's own file names, an empty name and a directory
// part that does not exist.
func TestSourcePath(t *testing.T) {
	out := t.TempDir()
	for _, d := range []string{"other/dir", "spool"} {
		if err := os.MkdirAll(filepath.Join(out, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(filepath.Join(out, "other", "dir"), filepath.Join(out, "spool", "lnk")); err != nil {
		t.Fatal(err)
	}
	real, err := filepath.EvalSymlinks(out)
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(filepath.Join(out, "spool"))
	for src, want := range map[string]string{
		out + "/spool/lnk/../f": filepath.Join(real, "other", "f"),
		"lnk/../f":              filepath.Join(real, "other", "f"),
		"f":                     filepath.Join(real, "spool", "f"),
		"./lnk/x":               filepath.Join(real, "other", "dir", "x"),
		"lnk":                   filepath.Join(real, "spool", "lnk"), // the final component as named
	} {
		if got, err := SourcePath(src); err != nil || got != want {
			t.Errorf("SourcePath(%q) = %q, %v; want %q", src, got, err, want)
		}
	}
	for src, want := range map[string]error{
		"":                            ErrInvalidName,
		"f/":                          ErrNotRegular,
		"f/.":                         ErrNotRegular,
		"lnk/..":                      ErrNotRegular,
		".f.sw.h.1.2.0123abcd.tmp":    ErrInvalidName,
		"nosuch/../f":                 syscall.ENOENT,
		out + "/spool/nosuch/../../f": syscall.ENOENT,
	} {
		if got, err := SourcePath(src); !errors.Is(err, want) {
			t.Errorf("SourcePath(%q) = %q, %v; want an error wrapping %v", src, got, err, want)
		}
	}
}

// TestMkdirAllModeKeepsSetgid: Mode's setgid (a shared group directory) is
// given to the directories MkdirAll creates; it was dropped with everything
// but the permission bits.
func TestMkdirAllModeKeepsSetgid(t *testing.T) {
	r, dir := openRoot(t)
	if err := r.MkdirAll(context.Background(), "m/n", 0o777, Mode(fs.ModeSetgid|0o750)); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"m", "m/n"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || fi.Mode()&(fs.ModePerm|fs.ModeSetgid) != fs.ModeSetgid|0o750 {
			t.Errorf("%s: mode %v (%v); want setgid and 0750", name, fi.Mode(), err)
		}
	}
}

// A directory MkdirAll creates with Mode in a set-group-ID directory (a
// group-shared volume) keeps the bit it inherits, as mkdir(1) does: the
// files made in it then belong to the volume's group, not to the creator's.
func TestMkdirAllModeKeepsInheritedSetgid(t *testing.T) {
	r, dir := openRoot(t)
	ctx := context.Background()
	if err := os.Mkdir(filepath.Join(dir, "shared"), 0o775); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(dir, "shared"), 0o775|fs.ModeSetgid); err != nil {
		t.Fatal(err)
	}
	if err := r.MkdirAll(ctx, "shared/logs/app", 0o775, Mode(0o775)); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"shared/logs", "shared/logs/app"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode() & (fs.ModePerm | fs.ModeSetgid); got != 0o775|fs.ModeSetgid {
			t.Errorf("%s: mode %v; want %v", name, got, 0o775|fs.ModeSetgid)
		}
	}
}
