//go:build linux

package writer

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/quote"
	"github.com/sharedwrite/sharedwrite/internal/testrig"
	"github.com/sharedwrite/sharedwrite/internal/testrig/faultfs"
)

// randomFile writes size random bytes to p with mode perm and an mtime in
// the past, and returns their sha256.
func randomFile(t testing.TB, p string, size int, perm os.FileMode) [32]byte {
	t.Helper()
	b := make([]byte, size)
	rand.Read(b)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, perm); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, perm); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour).Truncate(time.Second)
	if err := os.Chtimes(p, old, old); err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

func fileSum(t testing.TB, p string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("read %s: %v", p, err)
	}
	return sha256.Sum256(b)
}

// checkMoved checks that src is gone, dst holds sum with src's mode and
// mtime, and that no temp or intent is left.
func checkMoved(t *testing.T, rootDir, src, dst string, sum [32]byte, mode os.FileMode, mtime time.Time) {
	t.Helper()
	if _, err := os.Lstat(src); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("source after Move: %v; want it gone", err)
	}
	p := filepath.Join(rootDir, dst)
	if got := fileSum(t, p); got != sum {
		t.Errorf("sha256 of the destination: got %x; want %x", got, sum)
	}
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != mode {
		t.Errorf("mode of the destination: got %v; want %v (the source's)", fi.Mode().Perm(), mode)
	}
	if !fi.ModTime().Equal(mtime) {
		t.Errorf("mtime of the destination: got %v; want %v (the source's)", fi.ModTime(), mtime)
	}
	noTemps(t, rootDir)
	if _, err := os.Lstat(moveIntentPath(src)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("intent beside the source: %v; want none", err)
	}
}

func TestMove(t *testing.T) {
	tests := []struct {
		name      string
		rig       func(t *testing.T) (rootDir, srcDir string)
		wantExdev bool
	}{
		{"same filesystem", func(t *testing.T) (string, string) {
			base := t.TempDir()
			return mkdirs(t, base, "root"), mkdirs(t, base, "spool")
		}, false},
		{"disk to tmpfs", func(t *testing.T) (string, string) {
			return testrig.Tmpfs(t, "64m"), t.TempDir()
		}, true},
		{"tmpfs to disk", func(t *testing.T) (string, string) {
			return t.TempDir(), testrig.Tmpfs(t, "64m")
		}, true},
		{"two bind-mounted views of one filesystem", func(t *testing.T) (string, string) {
			base := t.TempDir()
			rootDir, _ := mkdirs(t, base, "root"), mkdirs(t, base, "spool")
			view := t.TempDir()
			testrig.BindMount(t, base, view)
			return rootDir, filepath.Join(view, "spool")
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rootDir, srcDir := tt.rig(t)
			r, err := Open(rootDir)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			src := filepath.Join(srcDir, "incoming.bin")
			sum := randomFile(t, src, 3<<20+123, 0o640)
			fi, _ := os.Stat(src)
			var ev events
			var hooked []Change
			hook := PreCommit(func(ctx context.Context, c Change) error { hooked = append(hooked, c); return nil })
			if err := r.Move(context.Background(), src, "in/box/file.bin", ev.opt(), hook); err != nil {
				t.Fatalf("Move: %v", err)
			}
			checkMoved(t, rootDir, src, "in/box/file.bin", sum, 0o640, fi.ModTime())
			if got := ev.count("exdev-fallback") > 0; got != tt.wantExdev {
				t.Errorf("exdev-fallback event: %v; want %v", got, tt.wantExdev)
			}
			last := hooked[len(hooked)-1]
			if last.Op != "move" || last.Name != "in/box/file.bin" || last.SHA256 != sum || last.Size != fi.Size() {
				t.Errorf("PreCommit change: got %+v; want Op move, Name in/box/file.bin, the source's sha256 and size", last)
			}
		})
	}
}

func mkdirs(t testing.TB, base, name string) string {
	t.Helper()
	p := filepath.Join(base, name)
	if err := os.MkdirAll(p, 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// A refused PreCommit hook, or a cancelled context, commits nothing, on both
// paths: the source stays, the destination and the directories made for it
// do not appear.
func TestMovePreCommitRefused(t *testing.T) {
	for _, cross := range []bool{false, true} {
		t.Run(map[bool]string{false: "rename", true: "cross-device"}[cross], func(t *testing.T) {
			rootDir := t.TempDir()
			if cross {
				rootDir = testrig.Tmpfs(t, "16m")
			}
			r, err := Open(rootDir)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			src := filepath.Join(t.TempDir(), "f")
			sum := randomFile(t, src, 1<<20, 0o644)
			before := snapshotOpt(t, rootDir, false)
			refuse := errors.New("fenced")
			err = r.Move(context.Background(), src, "new/dir/f", PreCommit(func(context.Context, Change) error { return refuse }))
			if !errors.Is(err, refuse) {
				t.Fatalf("Move with a refusing hook: %v; want the hook's error", err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			if err := r.Move(ctx, src, "new/dir/f"); !errors.Is(err, context.Canceled) {
				t.Fatalf("Move with a cancelled context: %v; want context.Canceled", err)
			}
			if got := fileSum(t, src); got != sum {
				t.Errorf("source changed")
			}
			sameSnapshot(t, "root after a refused Move", before, snapshotOpt(t, rootDir, false))
			if _, err := os.Lstat(moveIntentPath(src)); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("intent left: %v", err)
			}
		})
	}
}

func TestMoveRefusesNonRegular(t *testing.T) {
	r, _ := openRoot(t)
	dir := t.TempDir()
	if err := r.Move(context.Background(), dir, "d"); !errors.Is(err, ErrNotRegular) {
		t.Errorf("Move of a directory: %v; want ErrNotRegular", err)
	}
	if err := r.Move(context.Background(), filepath.Join(dir, "missing"), "d"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Move of a missing file: %v; want fs.ErrNotExist", err)
	}
	src := filepath.Join(dir, "f")
	mustWrite(t, src, "x", 0o644)
	if err := r.Move(context.Background(), src, "../escape"); !errors.Is(err, ErrOutsideRoot) {
		t.Errorf("Move outside the root: %v; want ErrOutsideRoot", err)
	}
}

// An EXDEV from a rename inside one directory (a faulty FUSE filesystem) is
// not a reason to copy: nothing is committed and the error says so.
func TestMoveExdevInsideOneDirectory(t *testing.T) {
	ffs := faultfs.Mount(t, faultfs.Options{})
	r, err := Open(ffs.Dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	src := filepath.Join(ffs.Dir, "spooled")
	mustWrite(t, src, "payload", 0o644)
	ffs.Set(faultfs.Fault{Op: faultfs.OpRename, Errno: syscall.EXDEV})
	err = r.Move(context.Background(), src, "target")
	if !errors.Is(err, ErrCrossDevice) || !errors.Is(err, syscall.EXDEV) {
		t.Fatalf("Move with EXDEV inside one directory: %v; want ErrCrossDevice and EXDEV", err)
	}
	if got := readString(t, src); got != "payload" {
		t.Errorf("source: got %q; want it intact", got)
	}
	if _, err := os.Lstat(filepath.Join(ffs.Dir, "target")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("target: %v; want not created", err)
	}
	noTemps(t, ffs.Dir)
}

// Move settles an intent a crashed Move left beside the source.
func TestMoveResumesIntent(t *testing.T) {
	tests := []struct {
		name      string
		srcLeft   bool // the crashed Move had not unlinked the source yet
		dstDone   bool // the crashed Move had committed the destination
		withSum   bool // the intent has the sha256 (the copy was complete)
		wantEvent string
	}{
		{"committed, source not yet unlinked", true, true, true, "move-complete-intent"},
		{"source unlinked, intent not yet removed", false, true, true, "move-complete-intent"},
		{"copy incomplete", true, false, false, "move-discard-intent"},
		{"copy complete, not committed", true, false, true, "move-discard-intent"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rootDir := testrig.Tmpfs(t, "16m")
			r, err := Open(rootDir)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			src := filepath.Join(t.TempDir(), "f")
			sum := randomFile(t, src, 1<<20, 0o600)
			fi, _ := os.Stat(src)
			in := newMoveIntent(src, r.Dir(), "f", fi)
			if tt.withSum {
				in.SHA256 = hexSum(sum)
			}
			if err := writeMoveIntent(&config{}, src, in); err != nil {
				t.Fatal(err)
			}
			if tt.dstDone {
				b, _ := os.ReadFile(src)
				if err := os.WriteFile(filepath.Join(rootDir, "f"), b, 0o600); err != nil {
					t.Fatal(err)
				}
				os.Chtimes(filepath.Join(rootDir, "f"), fi.ModTime(), fi.ModTime())
			}
			if !tt.srcLeft {
				os.Remove(src)
			}
			var ev events
			if err := r.Move(context.Background(), src, "f", ev.opt()); err != nil {
				t.Fatalf("Move after a crash: %v", err)
			}
			checkMoved(t, rootDir, src, "f", sum, 0o600, fi.ModTime())
			if ev.count(tt.wantEvent) != 1 {
				t.Errorf("events %v; want one %s", ev.steps, tt.wantEvent)
			}
			if got := ev.count("exdev-fallback") > 0; got == tt.dstDone {
				t.Errorf("copied again: %v; want %v", got, !tt.dstDone)
			}
		})
	}
}

func hexSum(s [32]byte) string { return hex.EncodeToString(s[:]) }

// With AcceptUnconfirmedDurability, a source directory whose fsync is
// refused (EINVAL/EOPNOTSUPP, as on some FUSE and CIFS mounts) is a warning,
// as for the directories in the root: Move returns nil, src is gone and dst
// holds it, by rename and by the copy fallback (whose intent beside src is
// fsynced in that directory too). Without the option the rename's outcome is
// ErrDurabilityUnconfirmed, and the copy fails before anything is moved.
func TestMoveAcceptUnconfirmedDurabilityOfSourceDir(t *testing.T) {
	for _, rig := range []string{"rename", "copy"} {
		for _, errno := range []syscall.Errno{syscall.EINVAL, syscall.EOPNOTSUPP} {
			for _, accept := range []bool{true, false} {
				t.Run(fmt.Sprintf("%s/%v/accept=%v", rig, errno, accept), func(t *testing.T) {
					ffs := faultfs.Mount(t, faultfs.Options{})
					mustWrite(t, ffs.Backed("spool/x"), "payload", 0o644)
					rootDir := t.TempDir() // another device: the copy fallback
					if rig == "rename" {
						rootDir = filepath.Join(ffs.Dir, "root")
						if err := os.Mkdir(rootDir, 0o755); err != nil {
							t.Fatal(err)
						}
					}
					r, err := Open(rootDir)
					if err != nil {
						t.Fatal(err)
					}
					t.Cleanup(func() { r.Close() })
					ffs.Set(faultfs.Fault{Op: faultfs.OpFsyncDir, Errno: errno, Glob: "spool"})
					var warnings []error
					var opts []Option
					if accept {
						opts = append(opts, AcceptUnconfirmedDurability(func(w error) { warnings = append(warnings, w) }))
					}
					src := filepath.Join(ffs.Dir, "spool/x")
					err = r.Move(context.Background(), src, "dst", opts...)
					_, serr := os.Stat(src)
					dst, derr := os.ReadFile(filepath.Join(rootDir, "dst"))
					switch {
					case accept:
						if err != nil {
							t.Fatalf("Move: %v; want nil and a warning", err)
						}
						if len(warnings) == 0 {
							t.Fatalf("warnings: none; want the refused fsync of %s", filepath.Dir(src))
						}
						for _, w := range warnings {
							if !errors.Is(w, ErrDurabilityUnconfirmed) || !errors.Is(w, errno) || !strings.Contains(w.Error(), quote.Name(filepath.Dir(src))) {
								t.Errorf("warning %q; want ErrDurabilityUnconfirmed and %v naming %s", w, errno, quote.Name(filepath.Dir(src)))
							}
						}
						if !errors.Is(serr, fs.ErrNotExist) || derr != nil || string(dst) != "payload" {
							t.Errorf("after Move: src: %v, dst: %q, %v; want src gone and dst %q", serr, dst, derr, "payload")
						}
					case rig == "rename":
						if !errors.Is(err, ErrDurabilityUnconfirmed) || !errors.Is(err, errno) {
							t.Errorf("Move: %v; want ErrDurabilityUnconfirmed and %v", err, errno)
						}
						if string(dst) != "payload" {
							t.Errorf("dst: %q, %v; want %q (the rename happened)", dst, derr, "payload")
						}
					default:
						if err == nil || errors.Is(err, ErrDurabilityUnconfirmed) || !errors.Is(err, errno) {
							t.Errorf("Move: %v; want %v and not ErrDurabilityUnconfirmed (nothing moved)", err, errno)
						}
						if serr != nil || !errors.Is(derr, fs.ErrNotExist) {
							t.Errorf("after Move: src: %v, dst: %v; want src kept and no dst", serr, derr)
						}
						if ents, _ := os.ReadDir(ffs.Backed("spool")); len(ents) != 1 {
							t.Errorf("spool holds %d entries; want only x (no intent left)", len(ents))
						}
					}
				})
			}
		}
	}
}

// A read error on Move's source (EIO from the spool's filesystem) names the
// source, whose read failed, and the step; src is kept and nothing is left
// beside dst.
func TestMoveSourceReadErrorNamesSource(t *testing.T) {
	ffs := faultfs.Mount(t, faultfs.Options{})
	r, dir := openRoot(t)
	src := filepath.Join(ffs.Dir, "spool.bin")
	data := make([]byte, 3<<20)
	rand.Read(data)
	if err := os.WriteFile(ffs.Backed("spool.bin"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	ffs.Set(faultfs.Fault{Op: faultfs.OpRead, Errno: syscall.EIO, Glob: "spool.bin"})
	err := r.Move(context.Background(), src, "dst.bin")
	if !errors.Is(err, syscall.EIO) {
		t.Fatalf("Move: %v; want EIO", err)
	}
	var e *Error
	if !errors.As(err, &e) || e.Path != src || !strings.Contains(e.Op, "read source") {
		t.Errorf("error %q; want an *Error for the step \"read source\" with Path %s", err, quote.Name(src))
	}
	if !strings.Contains(err.Error(), quote.Name(src)) {
		t.Errorf("error %q does not name the source %s", err, quote.Name(src))
	}
	if _, serr := os.Stat(src); serr != nil {
		t.Errorf("source: %v; want it kept", serr)
	}
	if _, derr := os.Lstat(filepath.Join(dir, "dst.bin")); !errors.Is(derr, fs.ErrNotExist) {
		t.Errorf("dst.bin: %v; want not created", derr)
	}
	noTemps(t, dir)
}
