package writer

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
)

// snapshot records every entry under dir: type, mode, size, mtime, content
// hash and symlink target, so a comparison shows any change.
func snapshot(t testing.TB, dir string) map[string]string {
	t.Helper()
	return snapshotOpt(t, dir, true)
}

// snapshotOpt is snapshot that leaves directory mtimes out unless dirTimes
// (creating and removing a temp inside a directory changes its mtime).
func snapshotOpt(t testing.TB, dir string, dirTimes bool) map[string]string {
	t.Helper()
	m := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		s := fmt.Sprintf("%v %d %d", fi.Mode(), fi.Size(), fi.ModTime().UnixNano())
		if fi.IsDir() && !dirTimes {
			s = fmt.Sprintf("%v", fi.Mode())
		}
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			l, _ := os.Readlink(p)
			s += " -> " + l
		case fi.Mode().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			s += fmt.Sprintf(" %x", sha256.Sum256(b))
		}
		m[p] = s
		return nil
	})
	if err != nil {
		t.Fatalf("snapshot %s: %v", dir, err)
	}
	return m
}

func sameSnapshot(t testing.TB, what string, before, after map[string]string) {
	t.Helper()
	for p, s := range before {
		if after[p] != s {
			t.Errorf("%s: %s changed: %q -> %q", what, p, s, after[p])
		}
	}
	for p, s := range after {
		if _, ok := before[p]; !ok {
			t.Errorf("%s: %s appeared: %q", what, p, s)
		}
	}
}

func TestErrorEscapesNames(t *testing.T) {
	r, _ := openRoot(t)
	name := "evil\nwriter: level=INFO msg=\"forged\"/../x"
	err := r.WriteFile(context.Background(), name, []byte("x"), 0o644)
	if err == nil {
		t.Fatal("WriteFile: got nil; want ErrOutsideRoot")
	}
	msg := err.Error()
	if strings.ContainsAny(msg, "\n\r") {
		t.Errorf("error message holds a raw newline: %q", msg)
	}
	if !strings.Contains(msg, `evil\nwriter`) {
		t.Errorf("error message does not show the escaped name: %q", msg)
	}
	if !strings.HasPrefix(msg, "writer: resolve ") {
		t.Errorf("error message does not name the step: %q", msg)
	}
}

// FuzzResolve checks that whatever the name, Resolve either refuses it with an
// *Error or returns a clean relative path whose existing part, with every
// symlink evaluated by the kernel's rules, stays inside the root.
func FuzzResolve(f *testing.F) {
	for _, s := range []string{
		"a", "sub/f", "../x", "/etc/passwd", "out/secret", "inlink/../../x", "filelink",
		"dangling", "loop", "a\x00b", "", ".", "sub/./f", "sub//f/", "inlink/new/x",
		"sub/escape", "sub/up", "é/ü", "a\nb", "C:\\x", "\\\\?\\x",
	} {
		f.Add(s)
	}
	base := f.TempDir()
	root := filepath.Join(base, "root")
	for _, d := range []string{filepath.Join(base, "outside"), filepath.Join(root, "sub")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			f.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "sub", "f"), nil, 0o644); err != nil {
		f.Fatal(err)
	}
	for name, target := range map[string]string{
		"out": "../outside", "inlink": "sub", "filelink": "sub/f", "dangling": "nope",
		"loop": "loop", "sub/escape": "../../outside", "sub/up": "../sub", "abs": "/etc",
	} {
		if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
			f.Fatal(err)
		}
	}
	r, err := Open(root)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { r.Close() })
	f.Fuzz(func(t *testing.T, name string) {
		rel, err := r.Resolve(name)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Resolve(%q): error %T is not *Error: %v", name, err, err)
			}
			if strings.ContainsAny(err.Error(), "\n\r\x00") {
				t.Fatalf("Resolve(%q): raw control character in error %q", name, err)
			}
			return
		}
		if rel == "" || strings.HasPrefix(rel, "/") || path.Clean(rel) != rel || rel == "." ||
			rel == ".." || strings.HasPrefix(rel, "../") || strings.Contains(rel, "/../") || strings.ContainsRune(rel, 0) {
			t.Fatalf("Resolve(%q) = %q: not a clean relative path", name, rel)
		}
		// The longest existing prefix must evaluate to a path inside the root.
		p := filepath.Join(root, filepath.FromSlash(rel))
		for {
			if _, err := os.Lstat(p); err == nil {
				break
			}
			p = filepath.Dir(p)
		}
		real, err := filepath.EvalSymlinks(p)
		if err != nil {
			t.Fatalf("Resolve(%q) = %q: EvalSymlinks(%s): %v", name, rel, p, err)
		}
		if real != root && !strings.HasPrefix(real, root+string(filepath.Separator)) {
			t.Fatalf("Resolve(%q) = %q, which is %s: outside the root %s", name, rel, real, root)
		}
		if real != p {
			t.Fatalf("Resolve(%q) = %q: still holds a symlink (%s is %s)", name, rel, p, real)
		}
	})
}
