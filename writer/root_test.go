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
	"syscall"
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

// confinementRig builds base/root and base/outside with symlinks of every
// kind inside the root.
func confinementRig(t *testing.T) (r *Root, root, outside string) {
	t.Helper()
	base := t.TempDir()
	root = filepath.Join(base, "root")
	outside = filepath.Join(base, "outside")
	mustWrite(t, filepath.Join(outside, "secret"), "outside data", 0o644)
	mustWrite(t, filepath.Join(root, "sub", "f"), "inside", 0o644)
	links := map[string]string{
		"out":        "../outside",        // directory outside
		"outfile":    "../outside/secret", // file outside
		"abs":        filepath.Join(outside, "secret"),
		"dangling":   "nonexistent",          // final component dangling
		"danglesub":  "sub/missing",          // dangling into an existing dir
		"inlink":     "sub",                  // directory inside
		"filelink":   "sub/f",                // file inside
		"sub/up":     "../sub/f",             // ".." inside the root
		"sub/escape": "../../outside/secret", // ".." leaving the root
		"loop":       "loop",
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(root, "dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(root, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r, root, outside
}

func TestConfinement(t *testing.T) {
	r, root, outside := confinementRig(t)
	ctx := context.Background()
	refused := []struct {
		name string
		file string
		want error // for Resolve and WriteFile; nil: Resolve succeeds, WriteFile fails with wantWrite
		// wantWrite, when set, is WriteFile's error where it differs from want.
		wantWrite error
	}{
		{"dotdot", "../outside/secret", ErrOutsideRoot, nil},
		{"dotdot inside name", "sub/../../outside/secret", ErrOutsideRoot, nil},
		{"dotdot staying inside", "sub/../sub/f", ErrOutsideRoot, nil},
		{"absolute", filepath.Join(outside, "secret"), ErrOutsideRoot, nil},
		{"absolute into root", filepath.Join(root, "sub", "f"), ErrOutsideRoot, nil},
		{"symlink dir leaving root", "out/secret", ErrOutsideRoot, nil},
		{"symlink dir leaving root, new file", "out/new", ErrOutsideRoot, nil},
		{"final symlink leaving root", "outfile", ErrOutsideRoot, nil},
		{"absolute symlink", "abs", ErrOutsideRoot, nil},
		{"dangling final symlink", "dangling", ErrOutsideRoot, nil},
		{"dangling symlink into dir", "danglesub", ErrOutsideRoot, nil},
		{"nested symlink with dotdot leaving root", "sub/escape", ErrOutsideRoot, nil},
		{"symlink loop", "loop", syscall.ELOOP, nil},
		{"empty", "", ErrInvalidName, nil},
		{"root itself", ".", ErrInvalidName, nil},
		{"root itself with slashes", "./", ErrInvalidName, nil},
		{"NUL", "a\x00b", ErrInvalidName, nil},
		{"file as directory", "sub/f/x", syscall.ENOTDIR, nil},
		{"directory as target", "dir", nil, ErrNotRegular},
		{"FIFO as target", "fifo", nil, ErrNotRegular},
	}
	if os.Geteuid() == 0 {
		if err := syscall.Mknod(filepath.Join(root, "dev"), syscall.S_IFCHR|0o644, 1<<8|3); err != nil { // like /dev/null (1,3)
			t.Fatal(err)
		}
		refused = append(refused, struct {
			name, file      string
			want, wantWrite error
		}{"device as target", "dev", nil, ErrNotRegular})
	}
	outBefore := snapshot(t, outside)
	rootBefore := snapshot(t, root)
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			rel, err := r.Resolve(tc.file)
			if tc.want == nil {
				if err != nil {
					t.Errorf("Resolve(%q): got %v; want success", tc.file, err)
				}
			} else if !errors.Is(err, tc.want) {
				t.Errorf("Resolve(%q): got %q, %v; want %v", tc.file, rel, err, tc.want)
			}
			want := tc.wantWrite
			if want == nil {
				want = tc.want
			}
			err = r.WriteFile(ctx, tc.file, []byte("new content"), 0o644)
			if !errors.Is(err, want) {
				t.Errorf("WriteFile(%q): got %v; want %v", tc.file, err, want)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Errorf("WriteFile(%q): error %T is not *Error", tc.file, err)
			}
			if _, err := r.ReadFile(ctx, tc.file); !errors.Is(err, want) {
				t.Errorf("ReadFile(%q): got %v; want %v", tc.file, err, want)
			}
		})
	}
	sameSnapshot(t, "outside the root", outBefore, snapshot(t, outside))
	sameSnapshot(t, "inside the root", rootBefore, snapshot(t, root))
}

func TestConfinementFollowsSymlinksInsideRoot(t *testing.T) {
	r, root, outside := confinementRig(t)
	ctx := context.Background()
	tests := []struct{ name, want string }{
		{"inlink/f", "sub/f"},
		{"filelink", "sub/f"},
		{"sub/up", "sub/f"},
		{"./sub//f", "sub/f"},
		{"inlink/new/deeper", "sub/new/deeper"},
		{"newdir/x", "newdir/x"},
	}
	for _, tc := range tests {
		got, err := r.Resolve(tc.name)
		if err != nil || got != tc.want {
			t.Errorf("Resolve(%q): got %q, %v; want %q", tc.name, got, err, tc.want)
		}
	}
	outBefore := snapshot(t, outside)
	if err := r.WriteFile(ctx, "filelink", []byte("through the link"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := readString(t, filepath.Join(root, "sub", "f")); got != "through the link" {
		t.Errorf("sub/f: got %q; want the content written through filelink", got)
	}
	if fi, err := os.Lstat(filepath.Join(root, "filelink")); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		t.Errorf("filelink is no longer a symlink: %v %v", fi, err)
	}
	sameSnapshot(t, "outside the root", outBefore, snapshot(t, outside))
	noTemps(t, root)
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
