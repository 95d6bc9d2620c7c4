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
