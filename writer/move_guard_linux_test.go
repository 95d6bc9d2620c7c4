//go:build linux

package writer

import (
	"bytes"
	"context"
	"errors"
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
	"golang.org/x/sys/unix"
)

// Move's doc: when dst's directory fsync is refused the copy fallback keeps
// src and its intent "so that a crash cannot lose both: call Move again".
// Calling Move again must not unlink src while dst's directory entry is
// still not known to be durable.
func TestMoveRetryAfterUnconfirmedKeepsSource(t *testing.T) {
	ffs, _, r := faultRoot(t)
	src := filepath.Join(t.TempDir(), "spool.bin") // another device: the copy fallback
	mustWrite(t, src, "payload", 0o644)
	ffs.Set(faultfs.Fault{Op: faultfs.OpFsyncDir, Errno: syscall.EINVAL, Glob: "root"})

	err := r.Move(context.Background(), src, "dst")
	if !errors.Is(err, ErrDurabilityUnconfirmed) {
		t.Fatalf("first Move: %v; want ErrDurabilityUnconfirmed", err)
	}
	// The message says what became of the source, and names both.
	if msg := err.Error(); !strings.Contains(msg, "the source is kept") || !strings.Contains(msg, quote.Name(src)) || !strings.Contains(msg, `"dst"`) {
		t.Fatalf("first Move: %q; want it to name the source and dst and say the source is kept", msg)
	}
	if _, serr := os.Stat(src); serr != nil {
		t.Fatalf("source after the unconfirmed Move: %v; want it kept", serr)
	}
	// The directory fsync is still refused: nothing has confirmed dst.
	err = r.Move(context.Background(), src, "dst")
	_, serr := os.Stat(src)
	if errors.Is(serr, fs.ErrNotExist) && !errors.Is(err, ErrDurabilityUnconfirmed) {
		t.Fatalf("second Move = %v and the source is unlinked, although dst's directory fsync is still refused (want ErrDurabilityUnconfirmed and the source kept)", err)
	}
}

// A source rewritten after it was copied, with the same size and its mtime
// put back (cp -p, rsync -t, tar x do that), has changed: its ctime says so.
// Move must not unlink it: the new content would be lost.
func TestMoveSourceRewrittenSameSizeMtimeRestored(t *testing.T) {
	for _, rig := range []string{"copy (tmpfs spool)", "copy (bind-mounted view)"} {
		t.Run(rig, func(t *testing.T) {
			testrig.NeedRoot(t)
			var rootDir, srcDir string
			if rig == "copy (tmpfs spool)" {
				rootDir, srcDir = t.TempDir(), testrig.Tmpfs(t, "16m")
			} else {
				base := t.TempDir()
				rootDir = mkdirs(t, base, "root")
				mkdirs(t, base, "spool")
				view := t.TempDir()
				testrig.BindMount(t, base, view)
				srcDir = filepath.Join(view, "spool")
			}
			r, err := Open(rootDir)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			src := filepath.Join(srcDir, "report.csv")
			old := bytes.Repeat([]byte("A"), 4096)
			nu := bytes.Repeat([]byte("B"), 4096)
			if err := os.WriteFile(src, old, 0o644); err != nil {
				t.Fatal(err)
			}
			mt := time.Now().Add(-time.Hour).Truncate(time.Second)
			if err := os.Chtimes(src, mt, mt); err != nil {
				t.Fatal(err)
			}
			rewrite := PreCommit(func(_ context.Context, ch Change) error {
				// After the copy, before the commit: the producer rewrites
				// the file in place and restores its mtime. (Between bind
				// mounts the hook also runs before the rename that fails
				// with EXDEV; only the copy's commit names a temp.)
				if ch.Temp == "" {
					return nil
				}
				if err := os.WriteFile(src, nu, 0o644); err != nil {
					return err
				}
				return os.Chtimes(src, mt, mt)
			})
			err = r.Move(context.Background(), src, "report.csv", rewrite)
			got, serr := os.ReadFile(src)
			if errors.Is(serr, fs.ErrNotExist) {
				dst, _ := os.ReadFile(filepath.Join(rootDir, "report.csv"))
				t.Fatalf("Move = %v; the source was rewritten after the copy (same size, mtime restored, ctime changed) and was unlinked; dst holds %q..., the new content %q... is lost", err, dst[:4], nu[:4])
			}
			if !bytes.Equal(got, nu) {
				t.Errorf("source = %q...; want the rewritten content", got[:4])
			}
		})
	}
}

// On the rename path, src is checked (Lstat: a regular file) and hashed for
// the hook, then renamed by name. A symlink swapped in at src between the
// check and the rename is moved into the root as is: a symlink pointing
// outside the root lands at dst, and the Change carried another file's hash.
func TestMoveRenameSourceSwappedForSymlink(t *testing.T) {
	r, base, rootDir, src := spoolRig(t)
	outside := filepath.Join(base, "secret")
	mustWrite(t, outside, "secret", 0o600)
	swap := PreCommit(func(context.Context, Change) error {
		tmp := src + ".new"
		if err := os.Symlink(outside, tmp); err != nil {
			return err
		}
		return os.Rename(tmp, src)
	})
	err := r.Move(context.Background(), src, "dst", swap)
	fi, lerr := os.Lstat(filepath.Join(rootDir, "dst"))
	if lerr == nil && fi.Mode()&fs.ModeSymlink != 0 {
		target, _ := os.Readlink(filepath.Join(rootDir, "dst"))
		t.Fatalf("Move = %v; dst inside the root is now a symlink to %s (outside the root); want the move refused and nothing committed", err, target)
	}
	if err == nil || !errors.Is(lerr, fs.ErrNotExist) {
		t.Fatalf("Move = %v, dst: %v; want the move refused and no dst", err, lerr)
	}
}

// dst a hard link of src (same filesystem): rename(2) of two links to one
// inode does nothing and succeeds. Move must not report nil with src still
// there (mv refuses: "are the same file").
func TestMoveOntoHardLinkOfSource(t *testing.T) {
	r, _, rootDir, src := spoolRig(t)
	if err := os.Link(src, filepath.Join(rootDir, "dst")); err != nil {
		t.Fatal(err)
	}
	err := r.Move(context.Background(), src, "dst")
	_, serr := os.Lstat(src)
	if err == nil && serr == nil {
		t.Fatalf("Move = nil, but the source %s still exists (dst was a hard link of it); want an error or the source gone", src)
	}
}

// A FIFO planted at the intent's name beside src must not hang Move past
// its context deadline (os.ReadFile opens it O_RDONLY and blocks for a
// writer).
func TestMoveIntentPlantedFIFO(t *testing.T) {
	r, _ := openRoot(t)
	spool := t.TempDir()
	src := filepath.Join(spool, "in")
	mustWrite(t, src, "payload", 0o644)
	fifo := moveIntentPath(src)
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- r.Move(ctx, src, "dst") }()
	select {
	case err := <-done:
		t.Logf("Move = %v", err)
	case <-time.After(5 * time.Second):
		// Unblock the reader so the goroutine ends.
		if fd, err := unix.Open(fifo, unix.O_WRONLY|unix.O_NONBLOCK, 0); err == nil {
			unix.Close(fd)
		}
		err := <-done
		t.Fatalf("Move with a FIFO planted at the intent name %s still blocked 4 s past its 1 s deadline (it returned %v only once the FIFO got a writer)", fifo, err)
	}
}

// Between two bind-mounted views the rename is tried first (its hook runs),
// fails with EXDEV, and the copy opens src by name. A FIFO swapped in at src
// in between must not block Move past its deadline (the open has no
// O_NONBLOCK).
func TestMoveCopySourceSwappedForFIFO(t *testing.T) {
	testrig.NeedRoot(t)
	base := t.TempDir()
	rootDir := mkdirs(t, base, "root")
	mkdirs(t, base, "spool")
	view := t.TempDir()
	testrig.BindMount(t, base, view)
	r, err := Open(rootDir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	src := filepath.Join(view, "spool", "in")
	mustWrite(t, src, "payload", 0o644)
	swap := PreCommit(func(_ context.Context, ch Change) error {
		if ch.Temp != "" {
			return nil
		}
		tmp := src + ".fifo"
		if err := unix.Mkfifo(tmp, 0o600); err != nil {
			return err
		}
		return os.Rename(tmp, src)
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- r.Move(ctx, src, "dst", swap) }()
	select {
	case err := <-done:
		t.Logf("Move = %v", err)
	case <-time.After(5 * time.Second):
		if fd, err := unix.Open(src, unix.O_WRONLY|unix.O_NONBLOCK, 0); err == nil {
			unix.Close(fd)
		}
		err := <-done
		t.Fatalf("Move with a FIFO at src still blocked 4 s past its 1 s deadline (returned %v once the FIFO got a writer)", err)
	}
}

// A Move cancelled in the middle of a large copy commits nothing and leaves
// nothing behind.
func TestMoveCancelledMidCopy(t *testing.T) {
	testrig.NeedRoot(t)
	rootDir := t.TempDir()
	r, err := Open(rootDir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	src := filepath.Join(testrig.Tmpfs(t, "128m"), "big.bin")
	sum := randomFile(t, src, 96<<20, 0o644)
	before := snapshotOpt(t, rootDir, false)
	ctx, cancel := context.WithCancel(context.Background())
	var ev events
	go func() { time.Sleep(30 * time.Millisecond); cancel() }()
	err = r.Move(ctx, src, "a/b/big.bin", ev.opt())
	if err == nil {
		t.Skip("the copy finished before the cancel")
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Move: %v; want context.Canceled", err)
	}
	if got := fileSum(t, src); got != sum {
		t.Errorf("source changed")
	}
	if _, err := os.Lstat(moveIntentPath(src)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("intent left: %v", err)
	}
	sameSnapshot(t, "root after a cancelled Move", before, snapshotOpt(t, rootDir, false))
}

// Non-regular sources are refused on both paths, promptly, with nothing
// changed: a symlink (to a regular file), a FIFO, a socket.
func TestMoveNonRegularSources(t *testing.T) {
	testrig.NeedRoot(t)
	for _, cross := range []bool{false, true} {
		rootDir := t.TempDir()
		if cross {
			rootDir = testrig.Tmpfs(t, "1m")
		}
		r, err := Open(rootDir)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		spool := t.TempDir()
		target := filepath.Join(spool, "real")
		mustWrite(t, target, "real", 0o644)
		mk := map[string]func(p string) error{
			"symlink": func(p string) error { return os.Symlink(target, p) },
			"fifo":    func(p string) error { return unix.Mkfifo(p, 0o600) },
			"socket":  func(p string) error { return unix.Mknod(p, unix.S_IFSOCK|0o600, 0) },
		}
		for name, make := range mk {
			src := filepath.Join(spool, name)
			if err := make(src); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			err := r.Move(ctx, src, "dst-"+name)
			cancel()
			if !errors.Is(err, ErrNotRegular) {
				t.Errorf("cross=%v: Move of a %s: %v; want ErrNotRegular", cross, name, err)
			}
			if _, lerr := os.Lstat(src); lerr != nil {
				t.Errorf("cross=%v: %s source: %v; want it kept", cross, name, lerr)
			}
			if _, lerr := os.Lstat(filepath.Join(rootDir, "dst-"+name)); !errors.Is(lerr, fs.ErrNotExist) {
				t.Errorf("cross=%v: dst of the %s: %v; want none", cross, name, lerr)
			}
		}
		if got := readString(t, target); got != "real" {
			t.Errorf("symlink target = %q", got)
		}
	}
}

// spoolRig is a root (base/root) and, on the same filesystem, a source file
// base/spool/in holding "payload".
func spoolRig(t *testing.T) (r *Root, base, rootDir, src string) {
	t.Helper()
	base = t.TempDir()
	rootDir, spool := mkdirs(t, base, "root"), mkdirs(t, base, "spool")
	r, err := Open(rootDir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	src = filepath.Join(spool, "in")
	mustWrite(t, src, "payload", 0o644)
	return r, base, rootDir, src
}

// A move from a directory of the root seen through a bind mount of it into
// that same directory: rename(2) gives EXDEV across the two mounts by design,
// and the copy is made. It was taken for a faulty filesystem (EXDEV from a
// rename inside one directory: ErrCrossDevice) and refused.
func TestMoveSameDirThroughBindMount(t *testing.T) {
	testrig.NeedRoot(t)
	r, dir := openRoot(t)
	in := mkdirs(t, dir, "in")
	view := t.TempDir()
	testrig.BindMount(t, in, view)
	src := filepath.Join(view, "f")
	mustWrite(t, src, "payload", 0o644)
	var ev events
	if err := r.Move(context.Background(), src, "in/g", ev.opt()); err != nil {
		t.Fatalf("Move through a bind mount of the same directory: %v; want the copy made", err)
	}
	if ev.count("exdev-fallback") == 0 {
		t.Errorf("no exdev-fallback event; want the copy path")
	}
	if b, err := os.ReadFile(filepath.Join(dir, "in", "g")); err != nil || string(b) != "payload" {
		t.Errorf("in/g = %q, %v; want %q", b, err, "payload")
	}
	if _, err := os.Lstat(src); !os.IsNotExist(err) {
		t.Errorf("src after the move: %v; want it gone", err)
	}
}
