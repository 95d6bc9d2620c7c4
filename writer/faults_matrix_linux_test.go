//go:build linux

package writer

// Each test injects a fault (FUSE fault filesystem, tmpfs, read-only bind) at
// one step of an operation and checks the documented contract: the error
// names the step and the path and unwraps to the errno; "not committed"
// leaves the target and its directory as they were; a change made visible is
// never reported as nothing changed.

import (
	"context"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"github.com/sharedwrite/sharedwrite/internal/quote"
	"github.com/sharedwrite/sharedwrite/internal/testrig"
	"github.com/sharedwrite/sharedwrite/internal/testrig/faultfs"
)

const (
	fxOld = "old content\n"
	fxNew = "new content, longer than the old one\n"
)

// fxRoot mounts a fault filesystem and opens a Root on it.
func fxRoot(t *testing.T) (*faultfs.FS, *Root) {
	t.Helper()
	ffs := faultfs.Mount(t, faultfs.Options{})
	r, err := Open(ffs.Dir)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { r.Close() }) // runs before the unmount
	return ffs, r
}

func fxCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func fxSeed(t *testing.T, ffs *faultfs.FS, rel, content string) {
	t.Helper()
	p := ffs.Backed(rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func fxList(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("readdir %s: %v", dir, err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	slices.Sort(out)
	return out
}

func fxWantList(t *testing.T, dir string, want ...string) {
	t.Helper()
	slices.Sort(want)
	if got := fxList(t, dir); !slices.Equal(got, want) {
		t.Errorf("%s holds %q; want exactly %q", dir, got, want)
	}
}

func fxRead(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("read %s: %v", p, err)
	}
	return string(b)
}

// fxFDs counts this process's open descriptors, leaving out the pipes
// (go-fuse's splice pool, filled on first reads) and /dev/null.
func fxFDs() int {
	ents, _ := os.ReadDir("/proc/self/fd")
	n := 0
	for _, e := range ents {
		l, err := os.Readlink("/proc/self/fd/" + e.Name())
		if err != nil || strings.HasPrefix(l, "pipe:") || l == "/dev/null" {
			continue
		}
		n++
	}
	return n
}

// fxNoFDLeak waits a moment for background closes and checks the count
// is back to before.
func fxNoFDLeak(t *testing.T, before int) {
	t.Helper()
	n := fxFDs()
	for i := 0; i < 50 && n > before; i++ {
		time.Sleep(20 * time.Millisecond)
		n = fxFDs()
	}
	if n > before {
		var links []string
		ents, _ := os.ReadDir("/proc/self/fd")
		for _, e := range ents {
			l, _ := os.Readlink("/proc/self/fd/" + e.Name())
			links = append(links, e.Name()+"->"+l)
		}
		t.Errorf("descriptor leak: %d open before, %d after: %v", before, n, links)
	}
}

// fxNoWriterGoroutines checks that no goroutine but the caller's is still
// running code of this package (the copy pipelines' readers and hashers).
func fxNoWriterGoroutines(t *testing.T) {
	t.Helper()
	var stray []string
	for i := 0; i < 50; i++ {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		stray = stray[:0]
		for _, g := range strings.Split(string(buf), "\n\n") {
			if strings.Contains(g, "sharedwrite/writer.") && !strings.Contains(g, "sharedwrite/writer.fxNoWriterGoroutines") &&
				!strings.Contains(g, "testing.tRunner") {
				stray = append(stray, g)
			}
		}
		if len(stray) == 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Errorf("goroutines of the writer still running:\n%s", strings.Join(stray, "\n\n"))
}

// fxWantErr checks err is an *Error with an Op, unwrapping to errno, that
// names one of names (quoted) or a temp or move intent of one.
func fxWantErr(t *testing.T, err error, errno syscall.Errno, names ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("nil error; want one wrapping %v", errno)
	}
	t.Logf("error: %v", err)
	var e *Error
	if !errors.As(err, &e) {
		t.Errorf("error %T %v is not an *Error", err, err)
	} else if e.Op == "" {
		t.Errorf("error %v has no Op", err)
	}
	if errno != 0 && !errors.Is(err, errno) {
		t.Errorf("errors.Is(err, %v) = false: %v", errno, err)
	}
	msg := err.Error()
	for _, n := range names {
		if strings.Contains(msg, quote.Name(n)) {
			return
		}
	}
	// A temp (or a move intent) of one of the names.
	for _, n := range names {
		base := filepath.Base(n)
		if strings.Contains(msg, "."+base+tempMarker) || strings.Contains(msg, "."+base+moveIntentSuffix) {
			return
		}
	}
	t.Errorf("error %q names none of %q (nor a temp of the first)", msg, names)
}

// ---------------------------------------------------------------------------
// Matrix: WriteFile / streaming / create-only, one fault per step.

func TestFaultsWriteFileFaultMatrix(t *testing.T) {
	tmp := "." + "cfg.json" + ".sw.*.tmp"
	cases := []struct {
		name       string
		faults     []faultfs.Fault
		opts       []Option
		errno      syscall.Errno // 0: want success
		committed  bool          // want committed (ErrDurabilityUnconfirmed) when errno != 0
		newFile    bool          // target absent before (written at a/b/cfg.json)
		streamOnly bool
	}{
		{name: "create temp EIO", faults: []faultfs.Fault{{Op: faultfs.OpCreate, Errno: syscall.EIO, Glob: tmp}}, errno: syscall.EIO},
		{name: "create temp EROFS", faults: []faultfs.Fault{{Op: faultfs.OpCreate, Errno: syscall.EROFS, Glob: tmp}}, errno: syscall.EROFS},
		{name: "create temp EDQUOT", faults: []faultfs.Fault{{Op: faultfs.OpCreate, Errno: syscall.EDQUOT, Glob: tmp}}, errno: syscall.EDQUOT},
		{name: "create temp EDQUOT new dirs", newFile: true, faults: []faultfs.Fault{{Op: faultfs.OpCreate, Errno: syscall.EDQUOT, Glob: tmp}}, errno: syscall.EDQUOT},
		{name: "write EDQUOT", faults: []faultfs.Fault{{Op: faultfs.OpWrite, Errno: syscall.EDQUOT, Glob: tmp}}, errno: syscall.EDQUOT},
		{name: "write EIO new dirs", newFile: true, faults: []faultfs.Fault{{Op: faultfs.OpWrite, Errno: syscall.EIO, Glob: tmp}}, errno: syscall.EIO},
		{name: "write EINTR once", faults: []faultfs.Fault{{Op: faultfs.OpWrite, Errno: syscall.EINTR, Count: 1, Glob: tmp}}},
		{name: "fsync EDQUOT", faults: []faultfs.Fault{{Op: faultfs.OpFsync, Errno: syscall.EDQUOT, Glob: tmp}}, errno: syscall.EDQUOT},
		{name: "fsync EINTR once", faults: []faultfs.Fault{{Op: faultfs.OpFsync, Errno: syscall.EINTR, Count: 1, Glob: tmp}}},
		{name: "close ENOSPC", faults: []faultfs.Fault{{Op: faultfs.OpFlush, Errno: syscall.ENOSPC, Count: 1, Glob: tmp}}, errno: syscall.ENOSPC},
		{name: "rename EROFS", faults: []faultfs.Fault{{Op: faultfs.OpRename, Errno: syscall.EROFS}}, errno: syscall.EROFS},
		{name: "rename ENOSPC new dirs", newFile: true, faults: []faultfs.Fault{{Op: faultfs.OpRename, Errno: syscall.ENOSPC}}, errno: syscall.ENOSPC},
		{name: "rename EINTR once", faults: []faultfs.Fault{{Op: faultfs.OpRename, Errno: syscall.EINTR, Count: 1}}, errno: syscall.EINTR},
		{name: "link EIO create-only new dirs", newFile: true, opts: []Option{CreateOnly()}, faults: []faultfs.Fault{{Op: faultfs.OpLink, Errno: syscall.EIO}}, errno: syscall.EIO},
		{name: "link ENOSPC create-only", newFile: true, opts: []Option{CreateOnly()}, faults: []faultfs.Fault{{Op: faultfs.OpLink, Errno: syscall.ENOSPC}}, errno: syscall.ENOSPC},
		{name: "link ENOTSUP falls back to RENAME_NOREPLACE", newFile: true, opts: []Option{CreateOnly()}, faults: []faultfs.Fault{{Op: faultfs.OpLink, Errno: syscall.ENOTSUP}}},
		{name: "link ENOTSUP then rename EIO", newFile: true, opts: []Option{CreateOnly()}, faults: []faultfs.Fault{{Op: faultfs.OpLink, Errno: syscall.ENOTSUP}, {Op: faultfs.OpRename, Errno: syscall.EIO}}, errno: syscall.EIO},
		{name: "dir fsync EIO", faults: []faultfs.Fault{{Op: faultfs.OpFsyncDir, Errno: syscall.EIO}}, errno: syscall.EIO, committed: true},
		{name: "dir fsync EINVAL new dirs", newFile: true, faults: []faultfs.Fault{{Op: faultfs.OpFsyncDir, Errno: syscall.EINVAL}}, errno: syscall.EINVAL, committed: true},
		{name: "dir fsync ENOTSUP create-only", newFile: true, opts: []Option{CreateOnly()}, faults: []faultfs.Fault{{Op: faultfs.OpFsyncDir, Errno: syscall.ENOTSUP}}, errno: syscall.ENOTSUP, committed: true},
	}
	for _, tc := range cases {
		for _, stream := range []bool{false, true} {
			mode := "WriteFile"
			if stream {
				mode = "stream"
			}
			t.Run(tc.name+"/"+mode, func(t *testing.T) {
				ffs, r := fxRoot(t)
				fxSeed(t, ffs, "keep", "k")
				target := "cfg.json"
				if tc.newFile {
					target = "a/b/cfg.json"
				} else {
					fxSeed(t, ffs, target, fxOld)
				}
				before := fxList(t, ffs.Backing)
				ctx := fxCtx(t)
				// Warm up the root's cached directory handle.
				if err := r.WriteFile(ctx, "warm", []byte("w"), 0o644); err != nil {
					t.Fatal(err)
				}
				before = append(before, "warm")
				fds := fxFDs()
				ffs.Set(tc.faults...)
				var err error
				var f *File
				if stream {
					f, err = r.Create(ctx, target, 0o644, tc.opts...)
					if err == nil {
						if _, werr := f.Write([]byte(fxNew)); werr != nil {
							err = werr
						}
						if cerr := f.Commit(ctx); err == nil {
							err = cerr
						} else if cerr == nil {
							t.Errorf("Commit after a failed Write returned nil")
						}
						if aerr := f.Abort(); aerr != nil {
							t.Errorf("Abort after Commit: %v; want a no-op", aerr)
						}
						if cerr := f.Commit(ctx); cerr == nil {
							t.Errorf("second Commit returned nil")
						}
					}
				} else {
					err = r.WriteFile(ctx, target, []byte(fxNew), 0o644, tc.opts...)
				}
				ffs.Clear()
				if ffs.Injected(tc.faults[0].Op) == 0 {
					t.Fatalf("fault never fired (err %v)", err)
				}
				got, rerr := os.ReadFile(ffs.Backed(target))
				switch {
				case tc.errno == 0:
					if err != nil {
						t.Fatalf("got %v; want success (fault absorbed)", err)
					}
					if string(got) != fxNew {
						t.Errorf("target %q; want new", got)
					}
				case tc.committed:
					if !errors.Is(err, ErrDurabilityUnconfirmed) {
						t.Errorf("got %v; want ErrDurabilityUnconfirmed", err)
					}
					fxWantErr(t, err, tc.errno, dirOf(target), ".")
					if string(got) != fxNew {
						t.Errorf("target %q; want new (committed)", got)
					}
				default:
					fxWantErr(t, err, tc.errno, target, dirOf(target))
					if errors.Is(err, ErrDurabilityUnconfirmed) {
						t.Errorf("error says committed; nothing was")
					}
					if want := tc.errno == syscall.EINTR; IsTransient(err) != want {
						t.Errorf("IsTransient(%v) = %v; want %v", err, !want, want)
					}
					if tc.newFile {
						if rerr == nil {
							t.Errorf("target exists after a failure: %q", got)
						}
						fxWantList(t, ffs.Backing, before...)
					} else {
						if string(got) != fxOld {
							t.Errorf("target %q; want old byte for byte", got)
						}
						fxWantList(t, ffs.Backing, before...)
					}
				}
				if tc.errno == 0 || tc.committed {
					if tt := temps(t, ffs.Backing); len(tt) > 0 {
						t.Errorf("temps left: %v", tt)
					}
				}
				fxNoFDLeak(t, fds)
				fxNoWriterGoroutines(t)
			})
		}
	}
}

// ---------------------------------------------------------------------------
// In-place rewrite (a busy target: rename EBUSY injected by the fault
// filesystem, so the in-place writes go through it too).

// TestFaultsInPlaceFsyncFailsAfterWrite: the in-place write of the new
// content succeeded but its fsync failed (EIO). The target is restored from
// the backup and the call reports nothing changed. The settle after the
// failure used to accept the new content as complete (removing marker and
// backup) while the call said "not committed".
func TestFaultsInPlaceFsyncFailsAfterWrite(t *testing.T) {
	ffs, r := fxRoot(t)
	fxSeed(t, ffs, "cfg.json", fxOld)
	ffs.Set(
		faultfs.Fault{Op: faultfs.OpRename, Errno: syscall.EBUSY},
		faultfs.Fault{Op: faultfs.OpFsync, Errno: syscall.EIO, Glob: "cfg.json"},
	)
	err := r.WriteFile(fxCtx(t), "cfg.json", []byte(fxNew), 0o644, InPlaceIfBusy())
	ffs.Clear()
	if ffs.Injected(faultfs.OpFsync) == 0 {
		t.Fatalf("fsync fault never fired (err %v)", err)
	}
	t.Logf("WriteFile: %v", err)
	got := fxRead(t, ffs.Backed("cfg.json"))
	switch {
	case got == fxNew && err != nil && !errors.Is(err, ErrDurabilityUnconfirmed):
		t.Errorf("target holds the NEW content but WriteFile returned %v, which means \"not committed: nothing visible changed\"", err)
	case got == fxOld && err == nil:
		t.Errorf("WriteFile returned nil but the target holds the old content")
	case got != fxNew && got != fxOld:
		t.Errorf("target torn: %q", got)
	}
	if !errors.Is(err, syscall.EIO) {
		t.Errorf("errors.Is(err, EIO) = false")
	}
}

// TestFaultsInPlaceMarkerDirSyncRefused: on a volume that refuses directory
// fsync (EINVAL, as some FUSE/CIFS mounts do) the in-place rewrite fails at
// the fsync of its marker's directory, before the target is touched: a plain
// error, not ErrDurabilityUnconfirmed ("committed, visible"), which it used
// to return with the old content in place.
func TestFaultsInPlaceMarkerDirSyncRefused(t *testing.T) {
	ffs, r := fxRoot(t)
	fxSeed(t, ffs, "cfg.json", fxOld)
	ffs.Set(
		faultfs.Fault{Op: faultfs.OpRename, Errno: syscall.EBUSY},
		faultfs.Fault{Op: faultfs.OpFsyncDir, Errno: syscall.EINVAL},
	)
	err := r.WriteFile(fxCtx(t), "cfg.json", []byte(fxNew), 0o644, InPlaceIfBusy())
	ffs.Clear()
	t.Logf("WriteFile: %v", err)
	got := fxRead(t, ffs.Backed("cfg.json"))
	if got == fxOld && errors.Is(err, ErrDurabilityUnconfirmed) {
		t.Errorf("WriteFile returned ErrDurabilityUnconfirmed (\"the change IS visible\") but the target holds the OLD content: %v", err)
	}
	if got == fxNew && err != nil && !errors.Is(err, ErrDurabilityUnconfirmed) {
		t.Errorf("target new but error %v says not committed", err)
	}
	fxWantList(t, ffs.Backing, "cfg.json")
}

// fxPlantCompletedMarker leaves what an in-place rewrite of rel that
// crashed after its fsync and before removing its marker leaves: target with
// the new content, marker, backup with the old content.
func fxPlantCompletedMarker(t *testing.T, ffs *faultfs.FS, rel, oldC, newC string) {
	t.Helper()
	fxSeed(t, ffs, rel, newC)
	fi, err := os.Stat(filepath.Join(ffs.Dir, rel))
	if err != nil {
		t.Fatal(err)
	}
	dev, ino := fileID(fi)
	in := inPlaceIntent{Target: filepath.Base(rel), Dev: dev, Ino: ino,
		OldSize: int64(len(oldC)), OldSum: sha256Sum(oldC), NewSize: int64(len(newC)), NewSum: sha256Sum(newC)}
	m, b := inPlaceNames(rel)
	if err := os.WriteFile(ffs.Backed(m), in.encode(), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(ffs.Backed(b), []byte(oldC), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestFaultsSettleDirSyncRefusedBlocksOps: a leftover (completed) in-place
// marker on a volume that refuses directory fsync (EINVAL). Every operation
// settles it first; the refused fsync of the marker's removal used to fail
// the operation as ErrDurabilityUnconfirmed ("the change is visible") before
// WriteFile wrote anything, and failed ReadFile, a read.
func TestFaultsSettleDirSyncRefusedBlocksOps(t *testing.T) {
	const third = "third version\n"
	t.Run("WriteFile", func(t *testing.T) {
		ffs, r := fxRoot(t)
		fxPlantCompletedMarker(t, ffs, "cfg.json", fxOld, fxNew)
		ffs.Set(faultfs.Fault{Op: faultfs.OpFsyncDir, Errno: syscall.EINVAL})
		err := r.WriteFile(fxCtx(t), "cfg.json", []byte(third), 0o644)
		ffs.Clear()
		got := fxRead(t, ffs.Backed("cfg.json"))
		t.Logf("WriteFile: %v; target now %q", err, got)
		if errors.Is(err, ErrDurabilityUnconfirmed) && got != third {
			t.Errorf("WriteFile returned ErrDurabilityUnconfirmed (committed, visible) but the target holds %q, not the data written", got)
		}
	})
	t.Run("ReadFile", func(t *testing.T) {
		ffs, r := fxRoot(t)
		fxPlantCompletedMarker(t, ffs, "cfg.json", fxOld, fxNew)
		ffs.Set(faultfs.Fault{Op: faultfs.OpFsyncDir, Errno: syscall.EINVAL})
		got, err := r.ReadFile(fxCtx(t), "cfg.json")
		ffs.Clear()
		t.Logf("ReadFile: %q, %v", got, err)
		if errors.Is(err, ErrDurabilityUnconfirmed) {
			t.Errorf("ReadFile failed with a commit outcome: %v", err)
		}
	})
}

// TestFaultsInPlaceWriteFailsRestored: EIO on the first in-place write: the
// target is restored from the backup, the error is "not committed", and no
// marker, backup or temp is left. (Control: expected to pass.)
func TestFaultsInPlaceWriteFailsRestored(t *testing.T) {
	ffs, r := fxRoot(t)
	fxSeed(t, ffs, "cfg.json", fxOld)
	ffs.Set(
		faultfs.Fault{Op: faultfs.OpRename, Errno: syscall.EBUSY},
		faultfs.Fault{Op: faultfs.OpWrite, Errno: syscall.EIO, Glob: "cfg.json", Count: 1},
	)
	err := r.WriteFile(fxCtx(t), "cfg.json", []byte(fxNew), 0o644, InPlaceIfBusy())
	ffs.Clear()
	fxWantErr(t, err, syscall.EIO, "cfg.json")
	if errors.Is(err, ErrDurabilityUnconfirmed) {
		t.Errorf("says committed")
	}
	if got := fxRead(t, ffs.Backed("cfg.json")); got != fxOld {
		t.Errorf("target %q; want old", got)
	}
	fxWantList(t, ffs.Backing, "cfg.json")
}

// ---------------------------------------------------------------------------
// Move

func fxMoveRig(t *testing.T) (*faultfs.FS, *Root, string) {
	t.Helper()
	ffs := faultfs.Mount(t, faultfs.Options{})
	fxSeed(t, ffs, "spool/in.bin", fxNew)
	fxSeed(t, ffs, "vol/cfg.json", fxOld)
	r, err := Open(filepath.Join(ffs.Dir, "vol"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return ffs, r, filepath.Join(ffs.Dir, "spool/in.bin")
}

// TestFaultsMoveSourceUnlinkFailsAfterCommit: a cross-device Move (EXDEV
// fallback) commits the copy onto dst, then unlinking src fails (EIO). The
// error must say that dst was committed; it used to be a bare "remove
// source: input/output error", which reads as "dst did not change".
func TestFaultsMoveSourceUnlinkFailsAfterCommit(t *testing.T) {
	ffs, r, src := fxMoveRig(t)
	ffs.Set(
		faultfs.Fault{Op: faultfs.OpRename, Errno: syscall.EXDEV, Glob: "spool/in.bin"},
		faultfs.Fault{Op: faultfs.OpUnlink, Errno: syscall.EIO, Glob: "spool/in.bin"},
	)
	err := r.Move(fxCtx(t), src, "cfg.json")
	ffs.Clear()
	t.Logf("Move: %v", err)
	if got := fxRead(t, ffs.Backed("vol/cfg.json")); got != fxNew {
		t.Fatalf("setup: dst %q; want the copy committed", got)
	}
	if err == nil {
		return
	}
	if !errors.Is(err, ErrDurabilityUnconfirmed) && !strings.Contains(err.Error(), "committed") {
		t.Errorf("dst was replaced but Move returned %q: by the contract an error other than ErrDurabilityUnconfirmed means \"dst did not change\"", err)
	}
}

// TestFaultsMoveFaults: Move faults that must leave dst and src as they were
// (control cases).
func TestFaultsMoveFaults(t *testing.T) {
	exdev := faultfs.Fault{Op: faultfs.OpRename, Errno: syscall.EXDEV, Glob: "spool/in.bin"}
	tmp := ".cfg.json.sw.*.tmp"
	cases := []struct {
		name   string
		faults []faultfs.Fault
		dst    string
		errno  syscall.Errno
	}{
		{"rename EIO same device", []faultfs.Fault{{Op: faultfs.OpRename, Errno: syscall.EIO}}, "cfg.json", syscall.EIO},
		{"rename EIO new dirs", []faultfs.Fault{{Op: faultfs.OpRename, Errno: syscall.EIO}}, "x/y/new.bin", syscall.EIO},
		{"src fsync EIO", []faultfs.Fault{{Op: faultfs.OpFsync, Errno: syscall.EIO, Glob: "in.bin"}}, "cfg.json", syscall.EIO},
		{"exdev temp write ENOSPC", []faultfs.Fault{exdev, {Op: faultfs.OpWrite, Errno: syscall.ENOSPC, Glob: tmp}}, "cfg.json", syscall.ENOSPC},
		{"exdev temp fsync EIO", []faultfs.Fault{exdev, {Op: faultfs.OpFsync, Errno: syscall.EIO, Glob: tmp}}, "cfg.json", syscall.EIO},
		{"exdev commit rename EIO", []faultfs.Fault{exdev, {Op: faultfs.OpRename, Errno: syscall.EIO, Glob: tmp}}, "cfg.json", syscall.EIO},
		{"exdev intent create EDQUOT", []faultfs.Fault{exdev, {Op: faultfs.OpCreate, Errno: syscall.EDQUOT, Glob: "*.intent.tmp"}}, "cfg.json", syscall.EDQUOT},
		{"exdev intent dir fsync EIO", []faultfs.Fault{exdev, {Op: faultfs.OpFsyncDir, Errno: syscall.EIO, Glob: "spool"}}, "cfg.json", syscall.EIO},
		{"exdev new dirs temp create EIO", []faultfs.Fault{exdev, {Op: faultfs.OpCreate, Errno: syscall.EIO, Glob: ".new.bin.sw.*.tmp"}}, "x/y/new.bin", syscall.EIO},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ffs, r, src := fxMoveRig(t)
			ctx := fxCtx(t)
			// Warm up (first-use descriptors of the process and the Root).
			fxSeed(t, ffs, "spool/warm", "w")
			if err := r.Move(ctx, ffs.Dir+"/spool/warm", "warm"); err != nil {
				t.Fatal(err)
			}
			vol := fxList(t, ffs.Backed("vol"))
			fds := fxFDs()
			ffs.Set(tc.faults...)
			err := r.Move(ctx, src, tc.dst)
			ffs.Clear()
			fxWantErr(t, err, tc.errno, src, tc.dst, dirOf(tc.dst), filepath.Dir(src))
			if errors.Is(err, ErrDurabilityUnconfirmed) {
				t.Errorf("says committed")
			}
			if got := fxRead(t, ffs.Backed("vol/cfg.json")); got != fxOld {
				t.Errorf("dst %q; want old", got)
			}
			if got := fxRead(t, src); got != fxNew {
				t.Errorf("src %q; want intact", got)
			}
			fxWantList(t, ffs.Backed("vol"), vol...)
			fxWantList(t, ffs.Backed("spool"), "in.bin")
			fxNoFDLeak(t, fds)
			fxNoWriterGoroutines(t)
		})
	}
}

// ---------------------------------------------------------------------------
// TempDir relocation

// TestFaultsTempDirRelocateRenameReportsError: with TempDir, Commit first
// renames the temp to a fresh temp name beside the target (relocate). When
// that rename happened but reported an error (a retransmitted NFS rename),
// the temp under its new name must be removed with the rest ("not
// committed"); it used to be left beside the target.
func TestFaultsTempDirRelocateRenameReportsError(t *testing.T) {
	ffs, r := fxRoot(t)
	fxSeed(t, ffs, "cfg.json", fxOld)
	if err := os.Mkdir(ffs.Backed("spool"), 0o755); err != nil {
		t.Fatal(err)
	}
	ffs.Set(faultfs.Fault{Op: faultfs.OpRename, Errno: syscall.EIO, After: true, Count: 1,
		Match: func(rel string) bool { return strings.HasPrefix(rel, "spool/") }})
	err := r.WriteFile(fxCtx(t), "cfg.json", []byte(fxNew), 0o644, TempDir("spool"))
	ffs.Clear()
	if ffs.Injected(faultfs.OpRename) != 1 {
		t.Fatalf("fault did not fire (err %v)", err)
	}
	t.Logf("WriteFile: %v", err)
	got := fxRead(t, ffs.Backed("cfg.json"))
	if err != nil && !errors.Is(err, ErrDurabilityUnconfirmed) && got != fxOld {
		t.Errorf("not committed but target %q", got)
	}
	if tt := temps(t, ffs.Backing); len(tt) > 0 {
		t.Errorf("temps left after WriteFile returned %v: %v", err, tt)
	}
}

// ---------------------------------------------------------------------------
// Create racing another caller's MkdirAll rollback

// TestFaultsCreateParentVanishedIsTransient: a/b exists (made by another
// caller's MkdirAll); just as WriteFile creates its temp in a/b, that caller
// rolls back a/b and a (removed here from the backing directory from inside
// the create request). DESIGN.md (MkdirAll): "A creator that then finds its
// parent gone ... re-runs MkdirAll: that race is transient, not an error."
// The temp's create used to return the ENOENT at once.
func TestFaultsCreateParentVanishedIsTransient(t *testing.T) {
	ffs, r := fxRoot(t)
	if err := os.MkdirAll(ffs.Backed("a/b"), 0o755); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	ffs.Set(faultfs.Fault{Op: faultfs.OpCreate, Glob: "a/b/.cfg.json.sw.*.tmp", Match: func(string) bool {
		once.Do(func() {
			os.Remove(ffs.Backed("a/b"))
			os.Remove(ffs.Backed("a"))
		})
		return false
	}})
	err := r.WriteFile(fxCtx(t), "a/b/cfg.json", []byte(fxNew), 0o644)
	ffs.Clear()
	if err != nil {
		t.Fatalf("WriteFile whose parent was rolled back by another MkdirAll: %v; want the walk re-run and the write committed", err)
	}
	if got := fxRead(t, ffs.Backed("a/b/cfg.json")); got != fxNew {
		t.Errorf("target %q", got)
	}
}

// TestFaultsMkdirAllConcurrentRollback: one MkdirAll fails (EACCES on its last
// directory) and rolls back the parents it created while others create
// siblings under them: the others must succeed (a vanished parent restarts
// the walk), the failing one must leave nothing of its own. (Control.)
func TestFaultsMkdirAllConcurrentRollback(t *testing.T) {
	ffs, r := fxRoot(t)
	ffs.Set(faultfs.Fault{Op: faultfs.OpMkdir, Errno: syscall.EACCES, Glob: "a/b/bad"})
	ctx := fxCtx(t)
	for round := 0; round < 30; round++ {
		var wg sync.WaitGroup
		errs := make([]error, 4)
		for i := range errs {
			wg.Go(func() {
				name := "a/b/bad"
				if i > 0 {
					name = "a/b/ok" + string(rune('0'+i))
				}
				errs[i] = r.MkdirAll(ctx, name, 0o755)
			})
		}
		wg.Wait()
		if !errors.Is(errs[0], syscall.EACCES) {
			t.Fatalf("round %d: failing MkdirAll: %v; want EACCES", round, errs[0])
		}
		for i := 1; i < len(errs); i++ {
			if errs[i] != nil {
				t.Fatalf("round %d: MkdirAll ok%d: %v; want success", round, i, errs[i])
			}
			if fi, err := os.Stat(ffs.Backed("a/b/ok" + string(rune('0'+i)))); err != nil || !fi.IsDir() {
				t.Fatalf("round %d: ok%d missing after success: %v", round, i, err)
			}
		}
		if _, err := os.Stat(ffs.Backed("a/b/bad")); err == nil {
			t.Fatalf("bad exists")
		}
		ffs.Clear()
		if err := os.RemoveAll(ffs.Backed("a")); err != nil {
			t.Fatal(err)
		}
		ffs.Set(faultfs.Fault{Op: faultfs.OpMkdir, Errno: syscall.EACCES, Glob: "a/b/bad"})
	}
}

// ---------------------------------------------------------------------------
// ReadVersion

// TestFaultsReadUntilWindowWithStaleHandle: ReadVersion with Until(window)
// on a file whose opens keep failing with ESTALE ends when the window ends,
// with backoff between tries. It used to spin without sleeping, ignoring the
// window, until the context's deadline.
func TestFaultsReadUntilWindowWithStaleHandle(t *testing.T) {
	ffs, r := fxRoot(t)
	fxSeed(t, ffs, "cfg.json", fxOld)
	ffs.Set(faultfs.Fault{Op: faultfs.OpOpen, Errno: syscall.ESTALE, Glob: "cfg.json"})
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Second)
	defer cancel()
	const window = 300 * time.Millisecond
	start := time.Now()
	_, err := r.ReadVersion(ctx, "cfg.json", Until(func(Content) bool { return true }, window))
	d := time.Since(start)
	opens := ffs.Injected(faultfs.OpOpen)
	ffs.Clear()
	t.Logf("ReadVersion: %v after %v, %d failing opens", err, d, opens)
	if err == nil {
		t.Fatalf("nil error with every open stale")
	}
	if d > 2*time.Second {
		t.Errorf("ReadVersion with a %v window returned after %v (the ctx deadline), not when the window ended", window, d.Round(time.Millisecond))
	}
	// With backoff (2 ms doubling up to 200 ms) a 300 ms window needs only
	// a dozen or so attempts (each ESTALE open is 2 FUSE opens).
	if opens > 200 {
		t.Errorf("%d failing opens in %v: the retries spin without backoff", opens, d.Round(time.Millisecond))
	}
	if !errors.Is(err, syscall.ESTALE) && !errors.Is(err, ErrStaleView) {
		t.Errorf("error %v wraps neither ESTALE nor ErrStaleView", err)
	}
}

// TestFaultsReadFaults: control cases for ReadFile / ReadVersion options.
func TestFaultsReadFaults(t *testing.T) {
	ffs, r := fxRoot(t)
	fxSeed(t, ffs, "cfg.json", fxOld)
	ctx := fxCtx(t)
	fds := fxFDs()
	for _, opts := range [][]Option{nil, {HashOnly()}, {MaxReadSize(1 << 20)}, {ReadPrefix(4)}} {
		ffs.Set(faultfs.Fault{Op: faultfs.OpRead, Errno: syscall.EIO, Glob: "cfg.json"})
		_, err := r.ReadVersion(ctx, "cfg.json", opts...)
		ffs.Clear()
		fxWantErr(t, err, syscall.EIO, "cfg.json")
		if IsTransient(err) {
			t.Errorf("EIO transient")
		}
		ffs.Set(faultfs.Fault{Op: faultfs.OpRead, Errno: syscall.ESTALE, Glob: "cfg.json", Count: 3})
		c, err := r.ReadVersion(ctx, "cfg.json", opts...)
		ffs.Clear()
		if err != nil || !c.Exists {
			t.Errorf("ESTALE on read retried: got %v, %+v", err, c)
		}
	}
	fxNoFDLeak(t, fds)
}

// ---------------------------------------------------------------------------
// Remove and Sweep

func TestFaultsRemoveFaults(t *testing.T) {
	cases := []struct {
		name      string
		fault     faultfs.Fault
		errno     syscall.Errno
		committed bool
	}{
		{"unlink EIO", faultfs.Fault{Op: faultfs.OpUnlink, Errno: syscall.EIO, Glob: "cfg.json"}, syscall.EIO, false},
		{"unlink EROFS", faultfs.Fault{Op: faultfs.OpUnlink, Errno: syscall.EROFS, Glob: "cfg.json"}, syscall.EROFS, false},
		{"dir fsync EIO", faultfs.Fault{Op: faultfs.OpFsyncDir, Errno: syscall.EIO, Glob: "sub"}, syscall.EIO, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ffs, r := fxRoot(t)
			fxSeed(t, ffs, "sub/cfg.json", fxOld)
			fds := fxFDs()
			ffs.Set(tc.fault)
			err := r.Remove(fxCtx(t), "sub/cfg.json")
			ffs.Clear()
			if tc.committed {
				if !errors.Is(err, ErrDurabilityUnconfirmed) {
					t.Errorf("got %v; want ErrDurabilityUnconfirmed", err)
				}
				fxWantErr(t, err, tc.errno, "sub")
				fxWantList(t, ffs.Backed("sub"))
			} else {
				fxWantErr(t, err, tc.errno, "sub/cfg.json")
				if got := fxRead(t, ffs.Backed("sub/cfg.json")); got != fxOld {
					t.Errorf("file %q", got)
				}
			}
			fxNoFDLeak(t, fds)
		})
	}
}

// TestFaultsIsTransientBusyTarget: a rename onto a bind-mounted file fails
// with EBUSY, reported as ErrBusyTarget. Retrying cannot succeed, so
// IsTransient is false; it used to be true (the wrapped EBUSY), and a caller
// retrying on it looped until its deadline.
func TestFaultsIsTransientBusyTarget(t *testing.T) {
	ffs, r := fxRoot(t)
	fxSeed(t, ffs, "cfg.json", fxOld)
	ffs.Set(faultfs.Fault{Op: faultfs.OpRename, Errno: syscall.EBUSY})
	err := r.WriteFile(fxCtx(t), "cfg.json", []byte(fxNew), 0o644)
	ffs.Clear()
	if !errors.Is(err, ErrBusyTarget) {
		t.Fatalf("got %v; want ErrBusyTarget", err)
	}
	if IsTransient(err) {
		t.Errorf("IsTransient(%v) = true; a busy (bind-mounted) target is permanent: retrying cannot succeed", err)
	}
}

// TestFaultsSweepFaults: Sweep with a failing unlink keeps going, counts and
// reports the failure, and removes the orphan on the next run. (Control.)
func TestFaultsSweepFaults(t *testing.T) {
	ffs, r := fxRoot(t)
	ctx := fxCtx(t)
	orphan := "." + "x" + tempMarker + tempHost() + ".1.1.0badf00d" + tempSuffix
	orphan2 := "d/." + "y" + tempMarker + tempHost() + ".1.1.0badf00d" + tempSuffix
	fxSeed(t, ffs, orphan, "o")
	fxSeed(t, ffs, orphan2, "o")
	old := time.Now().Add(-time.Hour)
	os.Chtimes(ffs.Backed(orphan), old, old)
	os.Chtimes(ffs.Backed(orphan2), old, old)
	fds := fxFDs()
	ffs.Set(faultfs.Fault{Op: faultfs.OpUnlink, Errno: syscall.EIO, Glob: orphan})
	rep, err := r.Sweep(ctx, time.Minute)
	ffs.Clear()
	fxWantErr(t, err, syscall.EIO, orphan)
	if rep.Failed != 1 || rep.Removed != 1 {
		t.Errorf("report %+v; want Failed 1, Removed 1", rep)
	}
	rep, err = r.Sweep(ctx, time.Minute)
	if err != nil || rep.Removed != 1 {
		t.Errorf("second Sweep: %+v, %v", rep, err)
	}
	fxWantList(t, ffs.Backing, "d")
	fxNoFDLeak(t, fds)
}

// TestFaultsTempLookupSpuriousENOENT: right after the temp's O_EXCL create,
// the Lstat of its name spuriously reports ENOENT (a network filesystem's
// negative lookup). The temp is taken for one a Sweep removed and another is
// made; the first must be removed too. A committed WriteFile used to leave it
// beside the target.
func TestFaultsTempLookupSpuriousENOENT(t *testing.T) {
	ffs, r := fxRoot(t)
	fxSeed(t, ffs, "cfg.json", fxOld)
	var mu sync.Mutex
	fired := 0
	ffs.Set(faultfs.Fault{Op: faultfs.OpLookup, Errno: syscall.ENOENT, Glob: ".cfg.json.sw.*.tmp", Match: func(rel string) bool {
		if _, err := os.Lstat(ffs.Backed(rel)); err != nil {
			return false // not created yet: let the real lookup answer
		}
		mu.Lock()
		defer mu.Unlock()
		fired++
		return fired <= 2
	}})
	err := r.WriteFile(fxCtx(t), "cfg.json", []byte(fxNew), 0o644)
	ffs.Clear()
	if ffs.Injected(faultfs.OpLookup) == 0 {
		t.Fatalf("fault never fired (err %v)", err)
	}
	t.Logf("WriteFile: %v", err)
	if tt := temps(t, ffs.Backing); len(tt) > 0 {
		t.Errorf("temps left after WriteFile returned %v: %v", err, tt)
	}
}

func sha256Sum(s string) [32]byte { return sha256.Sum256([]byte(s)) }

// ---------------------------------------------------------------------------
// fchmod / fchown / futimens faults. faultfs cannot fail SETATTR, so this is a
// minimal go-fuse loopback whose nodes fail it on demand.

type fxAttrFS struct {
	Dir, Backing string
	mu           sync.Mutex
	fail         func(rel string, in *fuse.SetAttrIn) syscall.Errno
	fired        int
}

type fxAttrNode struct {
	fs.LoopbackNode
	rig *fxAttrFS
}

func (n *fxAttrNode) Setattr(ctx context.Context, f fs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	n.rig.mu.Lock()
	fail := n.rig.fail
	var e syscall.Errno
	if fail != nil {
		if e = fail(n.Path(nil), in); e != 0 {
			n.rig.fired++
		}
	}
	n.rig.mu.Unlock()
	if e != 0 {
		return e
	}
	return n.LoopbackNode.Setattr(ctx, f, in, out)
}

func (a *fxAttrFS) set(fn func(rel string, in *fuse.SetAttrIn) syscall.Errno) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.fail, a.fired = fn, 0
}

func (a *fxAttrFS) count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.fired
}

func fxAttrMount(t *testing.T) (*fxAttrFS, *Root) {
	t.Helper()
	testrig.NeedRoot(t)
	a := &fxAttrFS{Dir: t.TempDir(), Backing: t.TempDir()}
	var st syscall.Stat_t
	if err := syscall.Stat(a.Backing, &st); err != nil {
		t.Fatal(err)
	}
	lr := &fs.LoopbackRoot{Path: a.Backing, Dev: uint64(st.Dev)}
	lr.NewNode = func(r *fs.LoopbackRoot, _ *fs.Inode, _ string, _ *syscall.Stat_t) fs.InodeEmbedder {
		return &fxAttrNode{LoopbackNode: fs.LoopbackNode{RootData: r}, rig: a}
	}
	lr.RootNode = lr.NewNode(lr, nil, "", &st)
	zero := time.Duration(0)
	server, err := fs.Mount(a.Dir, lr.RootNode, &fs.Options{
		EntryTimeout: &zero, AttrTimeout: &zero, NegativeTimeout: &zero,
		MountOptions: fuse.MountOptions{AllowOther: true, FsName: "attrfault", Name: "attrfault", DirectMount: true},
	})
	if err != nil {
		testrig.Unavailable(t, "mount: "+err.Error())
	}
	t.Cleanup(func() {
		if err := server.Unmount(); err != nil {
			testrig.Unmount(t, a.Dir)
			return
		}
		server.Wait()
	})
	r, err := Open(a.Dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return a, r
}

// TestFaultsSetattrFaults: chown, chmod and futimens of the temp (and chmod of
// a directory MkdirAll created with Mode) fail: not committed, target byte
// for byte, no temp or created directory left, the error names the step.
// (Control.)
func TestFaultsSetattrFaults(t *testing.T) {
	isTemp := func(rel string) bool { return isTempName(filepath.Base(rel)) }
	cases := []struct {
		name  string
		opts  []Option
		sync  bool
		fail  func(rel string, in *fuse.SetAttrIn) syscall.Errno
		errno syscall.Errno
		op    string
	}{
		{name: "fchown EIO", op: "chown", errno: syscall.EIO, fail: func(rel string, in *fuse.SetAttrIn) syscall.Errno {
			if _, ok := in.GetUID(); ok && isTemp(rel) {
				return syscall.EIO
			}
			return 0
		}},
		{name: "fchmod EROFS", op: "chmod", errno: syscall.EROFS, fail: func(rel string, in *fuse.SetAttrIn) syscall.Errno {
			if _, ok := in.GetMode(); ok && isTemp(rel) {
				return syscall.EROFS
			}
			return 0
		}},
		{name: "fchmod EIO in Sync", op: "chmod", sync: true, errno: syscall.EIO, fail: func(rel string, in *fuse.SetAttrIn) syscall.Errno {
			if _, ok := in.GetMode(); ok && isTemp(rel) {
				return syscall.EIO
			}
			return 0
		}},
		{name: "futimens EIO KeepMtime", op: "set times", opts: []Option{KeepMtime()}, errno: syscall.EIO, fail: func(rel string, in *fuse.SetAttrIn) syscall.Errno {
			if _, ok := in.GetMTime(); ok && isTemp(rel) {
				return syscall.EIO
			}
			return 0
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a, r := fxAttrMount(t)
			p := filepath.Join(a.Backing, "cfg.json")
			if err := os.WriteFile(p, []byte(fxOld), 0o640); err != nil {
				t.Fatal(err)
			}
			if err := os.Chown(p, 1234, 1234); err != nil {
				t.Fatal(err)
			}
			ctx := fxCtx(t)
			if err := r.WriteFile(ctx, "warm", []byte("w"), 0o644); err != nil {
				t.Fatal(err)
			}
			fds := fxFDs()
			a.set(tc.fail)
			f, err := r.Create(ctx, "cfg.json", 0o644, tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			f.Write([]byte(fxNew))
			if tc.sync {
				if serr := f.Sync(); serr == nil {
					t.Errorf("Sync: nil; want the fault")
				}
			}
			err = f.Commit(ctx)
			if aerr := f.Abort(); aerr != nil {
				t.Errorf("Abort after a failed Commit: %v", aerr)
			}
			a.set(nil)
			fxWantErr(t, err, tc.errno, "cfg.json")
			var e *Error
			if errors.As(err, &e) && e.Op != tc.op {
				t.Errorf("Op %q; want %q", e.Op, tc.op)
			}
			if got := fxRead(t, p); got != fxOld {
				t.Errorf("target %q", got)
			}
			fxWantList(t, a.Backing, "cfg.json", "warm")
			fxNoFDLeak(t, fds)
		})
	}
	t.Run("MkdirAll Mode chmod EIO", func(t *testing.T) {
		a, r := fxAttrMount(t)
		a.set(func(rel string, in *fuse.SetAttrIn) syscall.Errno {
			if _, ok := in.GetMode(); ok && rel == "a/b" {
				return syscall.EIO
			}
			return 0
		})
		err := r.MkdirAll(fxCtx(t), "a/b/c", 0o700, Mode(0o700))
		a.set(nil)
		fxWantErr(t, err, syscall.EIO, "a/b")
		fxWantList(t, a.Backing)
	})
}

// TestFaultsMoveCrossFSCopyFaults: src on another filesystem (a plain temp
// directory; the root on the fault filesystem), so Move copies through the
// pipelined buffer copy. Faults in the copy, the fsync and the rename leave
// dst and src as they were, no intent, no temp, no descriptor or goroutine.
// A refused directory fsync after the rename is ErrDurabilityUnconfirmed with
// src kept. (Control.)
func TestFaultsMoveCrossFSCopyFaults(t *testing.T) {
	big := strings.Repeat("0123456789abcdef", 3<<16) // 3 MiB: several blocks
	tmp := ".cfg.json.sw.*.tmp"
	cases := []struct {
		name      string
		faults    []faultfs.Fault
		cancel    bool
		errno     syscall.Errno
		committed bool
	}{
		{name: "temp write EIO after 2", faults: []faultfs.Fault{{Op: faultfs.OpWrite, Errno: syscall.EIO, Skip: 2, Glob: tmp}}, errno: syscall.EIO},
		{name: "temp write EDQUOT", faults: []faultfs.Fault{{Op: faultfs.OpWrite, Errno: syscall.EDQUOT, Glob: tmp}}, errno: syscall.EDQUOT},
		{name: "temp fsync EIO", faults: []faultfs.Fault{{Op: faultfs.OpFsync, Errno: syscall.EIO, Glob: tmp}}, errno: syscall.EIO},
		{name: "temp close EIO", faults: []faultfs.Fault{{Op: faultfs.OpFlush, Errno: syscall.EIO, Glob: tmp}}, errno: syscall.EIO},
		{name: "rename EIO", faults: []faultfs.Fault{{Op: faultfs.OpRename, Errno: syscall.EIO}}, errno: syscall.EIO},
		{name: "cancel mid-copy", faults: []faultfs.Fault{{Op: faultfs.OpWrite, Delay: 30 * time.Millisecond, Glob: tmp}}, cancel: true},
		{name: "dir fsync EIO after rename", faults: []faultfs.Fault{{Op: faultfs.OpFsyncDir, Errno: syscall.EIO}}, errno: syscall.EIO, committed: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ffs, r := fxRoot(t)
			fxSeed(t, ffs, "cfg.json", fxOld)
			spool := t.TempDir()
			src := filepath.Join(spool, "in.bin")
			if err := os.WriteFile(src, []byte(big), 0o644); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			warm := filepath.Join(spool, "warm")
			os.WriteFile(warm, []byte("w"), 0o644)
			if err := r.Move(ctx, warm, "warm"); err != nil {
				t.Fatal(err)
			}
			fds := fxFDs()
			ffs.Set(tc.faults...)
			if tc.cancel {
				time.AfterFunc(50*time.Millisecond, cancel)
			}
			err := r.Move(ctx, src, "cfg.json")
			ffs.Clear()
			t.Logf("Move: %v", err)
			dst := fxRead(t, ffs.Backed("cfg.json"))
			if tc.committed {
				if !errors.Is(err, ErrDurabilityUnconfirmed) || !errors.Is(err, tc.errno) {
					t.Errorf("got %v; want ErrDurabilityUnconfirmed wrapping %v", err, tc.errno)
				}
				if dst != big {
					t.Errorf("dst not the copy")
				}
				if got := fxRead(t, src); got != big {
					t.Errorf("src not kept")
				}
			} else {
				if err == nil {
					t.Fatalf("nil error")
				}
				if tc.cancel {
					if !errors.Is(err, context.Canceled) {
						t.Errorf("got %v; want context.Canceled", err)
					}
				} else {
					fxWantErr(t, err, tc.errno, "cfg.json", src)
				}
				if errors.Is(err, ErrDurabilityUnconfirmed) {
					t.Errorf("says committed")
				}
				if dst != fxOld {
					t.Errorf("dst changed (%d bytes)", len(dst))
				}
				if got := fxRead(t, src); got != big {
					t.Errorf("src changed")
				}
				fxWantList(t, spool, "in.bin")
				fxWantList(t, ffs.Backing, "cfg.json", "warm")
			}
			fxNoFDLeak(t, fds)
			fxNoWriterGoroutines(t)
		})
	}
}

// TestFaultsRealMounts: real ENOSPC (a 64k tmpfs), EROFS (read-only bind) and
// EXDEV (TempDir and Move source on another device). (Control.)
func TestFaultsRealMounts(t *testing.T) {
	ctx := fxCtx(t)
	t.Run("tmpfs ENOSPC", func(t *testing.T) {
		dir := testrig.Tmpfs(t, "64k")
		mustWrite(t, filepath.Join(dir, "cfg.json"), fxOld, 0o644)
		r, err := Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		big := strings.Repeat("x", 200<<10)
		err = r.WriteFile(ctx, "cfg.json", []byte(big), 0o644)
		fxWantErr(t, err, syscall.ENOSPC, "cfg.json")
		err = r.WriteFile(ctx, "n/e/w.json", []byte(big), 0o644)
		fxWantErr(t, err, syscall.ENOSPC, "n/e/w.json")
		if got := readString(t, filepath.Join(dir, "cfg.json")); got != fxOld {
			t.Errorf("target %q", got)
		}
		fxWantList(t, dir, "cfg.json")
		// Move from another device into the full tmpfs.
		src := filepath.Join(t.TempDir(), "in.bin")
		mustWrite(t, src, big, 0o644)
		err = r.Move(ctx, src, "cfg.json")
		fxWantErr(t, err, syscall.ENOSPC, "cfg.json", src)
		fxWantList(t, dir, "cfg.json")
		fxWantList(t, filepath.Dir(src), "in.bin")
	})
	t.Run("read-only bind EROFS", func(t *testing.T) {
		back := t.TempDir()
		mustWrite(t, filepath.Join(back, "cfg.json"), fxOld, 0o644)
		ro := t.TempDir()
		testrig.ReadOnlyBind(t, back, ro)
		r, err := Open(ro)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		fxWantErr(t, r.WriteFile(ctx, "cfg.json", []byte(fxNew), 0o644), syscall.EROFS, "cfg.json")
		fxWantErr(t, r.Remove(ctx, "cfg.json"), syscall.EROFS, "cfg.json")
		start := time.Now()
		fxWantErr(t, r.MkdirAll(ctx, "a/b", 0o755), syscall.EROFS, "a")
		if d := time.Since(start); d > time.Second {
			t.Errorf("MkdirAll EROFS took %v: retried", d)
		}
		src := filepath.Join(t.TempDir(), "in.bin")
		mustWrite(t, src, fxNew, 0o644)
		fxWantErr(t, r.Move(ctx, src, "cfg.json"), syscall.EROFS, "cfg.json", src, filepath.Dir(src))
		if got := readString(t, src); got != fxNew {
			t.Errorf("src %q", got)
		}
		fxWantList(t, filepath.Dir(src), "in.bin")
		fxWantList(t, back, "cfg.json")
	})
	t.Run("TempDir on another device", func(t *testing.T) {
		r, dir := openRoot(t)
		mustWrite(t, filepath.Join(dir, "cfg.json"), fxOld, 0o644)
		os.Mkdir(filepath.Join(dir, "spool"), 0o755)
		other := testrig.Tmpfs(t, "1m")
		testrig.BindMount(t, other, filepath.Join(dir, "spool"))
		if err := r.WriteFile(ctx, "cfg.json", []byte(fxNew), 0o644, TempDir("spool")); err != nil {
			t.Fatalf("WriteFile with TempDir on another device: %v", err)
		}
		if got := readString(t, filepath.Join(dir, "cfg.json")); got != fxNew {
			t.Errorf("target %q", got)
		}
		noTemps(t, dir)
	})
}
