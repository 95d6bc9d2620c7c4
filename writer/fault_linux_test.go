//go:build linux

package writer_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/testrig/faultfs"
	"github.com/sharedwrite/sharedwrite/writer"
)

// The tests in this file run the writer on a FUSE filesystem that injects
// faults (internal/testrig/faultfs). Each checks the outcome the writer
// reports, what is visible afterwards (through the mount and in the backing
// directory), that no temp is left, and that the error names the path and
// wraps the errno.

const (
	faultOld = "old content\n"
	faultNew = "new content, longer than the old one\n"
)

// TestFaultNotCommitted: a fault before the rename leaves the old content,
// no temp, and an error naming the path and the errno.
func TestFaultNotCommitted(t *testing.T) {
	big := strings.Repeat("0123456789abcdef", 64<<10) // 1 MiB: several FUSE writes
	tests := []struct {
		name  string
		fault faultfs.Fault
		data  string
		errno syscall.Errno
	}{
		{
			name:  "EIO on every write of the temp after the 2nd",
			fault: faultfs.Fault{Op: faultfs.OpWrite, Errno: syscall.EIO, Skip: 2, Glob: faultTempGlob("cfg.json")},
			data:  big,
			errno: syscall.EIO,
		},
		{
			name:  "ENOSPC on every write of the temp after the 2nd",
			fault: faultfs.Fault{Op: faultfs.OpWrite, Errno: syscall.ENOSPC, Skip: 2, Glob: faultTempGlob("cfg.json")},
			data:  big,
			errno: syscall.ENOSPC,
		},
		{
			name:  "ENOSPC on the first write",
			fault: faultfs.Fault{Op: faultfs.OpWrite, Errno: syscall.ENOSPC, Glob: faultTempGlob("cfg.json")},
			data:  faultNew,
			errno: syscall.ENOSPC,
		},
		{
			name:  "EIO on fsync of the temp",
			fault: faultfs.Fault{Op: faultfs.OpFsync, Errno: syscall.EIO, Glob: faultTempGlob("cfg.json")},
			data:  faultNew,
			errno: syscall.EIO,
		},
		{
			name:  "EIO on close of the temp",
			fault: faultfs.Fault{Op: faultfs.OpFlush, Errno: syscall.EIO, Count: 1, Glob: faultTempGlob("cfg.json")},
			data:  faultNew,
			errno: syscall.EIO,
		},
		{
			name:  "EXDEV on the rename",
			fault: faultfs.Fault{Op: faultfs.OpRename, Errno: syscall.EXDEV},
			data:  faultNew,
			errno: syscall.EXDEV,
		},
		{
			name:  "EIO on the rename",
			fault: faultfs.Fault{Op: faultfs.OpRename, Errno: syscall.EIO},
			data:  faultNew,
			errno: syscall.EIO,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ffs, r := faultRoot(t)
			faultSeed(t, ffs, "cfg.json", faultOld)
			ffs.Set(tt.fault)
			err := r.WriteFile(faultCtx(t), "cfg.json", []byte(tt.data), 0o644)
			ffs.Clear()
			if n := ffs.Injected(tt.fault.Op); n == 0 {
				t.Fatalf("the %s fault never fired (err %v)", tt.fault.Op, err)
			}
			faultWantErrno(t, err, tt.errno, "cfg.json")
			if errors.Is(err, writer.ErrDurabilityUnconfirmed) {
				t.Errorf("error %v says committed; nothing was", err)
			}
			if tt.errno == syscall.EXDEV && !errors.Is(err, writer.ErrCrossDevice) {
				t.Errorf("errors.Is(err, ErrCrossDevice) = false; err: %v", err)
			}
			faultWantContent(t, filepath.Join(ffs.Dir, "cfg.json"), faultOld)
			faultWantContent(t, ffs.Backed("cfg.json"), faultOld)
			faultWantListing(t, ffs.Backing, "cfg.json")
		})
	}
}

// TestFaultNthWriteStreaming: EIO on exactly the 3rd write of a streamed
// file: that Write fails, the error sticks, Commit commits nothing.
func TestFaultNthWriteStreaming(t *testing.T) {
	ffs, r := faultRoot(t)
	faultSeed(t, ffs, "cfg.json", faultOld)
	ctx := faultCtx(t)
	f, err := r.Create(ctx, "cfg.json", 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Abort()
	ffs.Set(faultfs.Fault{Op: faultfs.OpWrite, Errno: syscall.EIO, Skip: 2, Count: 1, Glob: faultTempGlob("cfg.json")})
	chunk := bytes.Repeat([]byte("x"), 4096)
	for i := 1; i <= 5; i++ {
		_, err := f.Write(chunk)
		switch {
		case i < 3 && err != nil:
			t.Fatalf("write %d: %v; want success", i, err)
		case i >= 3 && !errors.Is(err, syscall.EIO):
			t.Fatalf("write %d: got %v; want EIO (the 3rd write failed, and the failure sticks)", i, err)
		}
	}
	if n := ffs.Injected(faultfs.OpWrite); n != 1 {
		t.Fatalf("injected write faults: got %d; want 1 (a failed Write must not reach the file again)", n)
	}
	err = f.Commit(ctx)
	faultWantErrno(t, err, syscall.EIO, "cfg.json")
	faultWantContent(t, filepath.Join(ffs.Dir, "cfg.json"), faultOld)
	faultWantListing(t, ffs.Backing, "cfg.json")
}

// TestFaultNewFileNotCommitted: a new file in new directories that fails
// at any step leaves neither the file nor the directories.
func TestFaultNewFileNotCommitted(t *testing.T) {
	tests := []struct {
		name  string
		fault faultfs.Fault
		errno syscall.Errno
		names string // what the error must name
	}{
		{"EIO on fsync of the temp", faultfs.Fault{Op: faultfs.OpFsync, Errno: syscall.EIO, Glob: faultTempGlob("new.json")}, syscall.EIO, "a/b/new.json"},
		{"EIO on creating the temp", faultfs.Fault{Op: faultfs.OpCreate, Errno: syscall.EIO, Glob: faultTempGlob("new.json")}, syscall.EIO, "a/b/new.json"},
		{"ENOSPC on creating the temp", faultfs.Fault{Op: faultfs.OpCreate, Errno: syscall.ENOSPC, Glob: faultTempGlob("new.json")}, syscall.ENOSPC, "a/b/new.json"},
		{"ENOSPC on mkdir of the parent", faultfs.Fault{Op: faultfs.OpMkdir, Errno: syscall.ENOSPC, Glob: "a/b"}, syscall.ENOSPC, "a/b"},
		{"EXDEV on the rename", faultfs.Fault{Op: faultfs.OpRename, Errno: syscall.EXDEV}, syscall.EXDEV, "a/b/new.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ffs, r := faultRoot(t)
			faultSeed(t, ffs, "keep", "x")
			ffs.Set(tt.fault)
			err := r.WriteFile(faultCtx(t), "a/b/new.json", []byte(faultNew), 0o644)
			if ffs.Injected(tt.fault.Op) == 0 {
				t.Fatalf("the %s fault never fired (err %v)", tt.fault.Op, err)
			}
			faultWantErrno(t, err, tt.errno, tt.names)
			faultWantListing(t, ffs.Backing, "keep")
		})
	}
}

// TestFaultDirFsyncRefused: the rename happened, the directory fsync was
// refused: by default ErrDurabilityUnconfirmed (visible, maybe not durable);
// with AcceptUnconfirmedDurability a warning and nil.
func TestFaultDirFsyncRefused(t *testing.T) {
	for _, errno := range []syscall.Errno{syscall.EINVAL, syscall.ENOTSUP} {
		t.Run(faultErrnoName(errno)+"/default", func(t *testing.T) {
			ffs, r := faultRoot(t)
			faultSeed(t, ffs, "sub/cfg.json", faultOld)
			ffs.Set(faultfs.Fault{Op: faultfs.OpFsyncDir, Errno: errno, Glob: "sub"})
			err := r.WriteFile(faultCtx(t), "sub/cfg.json", []byte(faultNew), 0o644)
			if !errors.Is(err, writer.ErrDurabilityUnconfirmed) {
				t.Fatalf("got %v; want ErrDurabilityUnconfirmed", err)
			}
			faultWantErrno(t, err, errno, "sub")
			faultWantContent(t, filepath.Join(ffs.Dir, "sub/cfg.json"), faultNew)
			faultWantContent(t, ffs.Backed("sub/cfg.json"), faultNew)
			faultWantListing(t, ffs.Backed("sub"), "cfg.json")
		})
		t.Run(faultErrnoName(errno)+"/accepted", func(t *testing.T) {
			ffs, r := faultRoot(t)
			faultSeed(t, ffs, "sub/cfg.json", faultOld)
			ffs.Set(faultfs.Fault{Op: faultfs.OpFsyncDir, Errno: errno, Glob: "sub"})
			var warnings []error
			err := r.WriteFile(faultCtx(t), "sub/cfg.json", []byte(faultNew), 0o644,
				writer.AcceptUnconfirmedDurability(func(w error) { warnings = append(warnings, w) }))
			if err != nil {
				t.Fatalf("WriteFile with AcceptUnconfirmedDurability: %v; want nil", err)
			}
			if len(warnings) != 1 {
				t.Fatalf("got %d warnings %v; want 1", len(warnings), warnings)
			}
			if !errors.Is(warnings[0], writer.ErrDurabilityUnconfirmed) {
				t.Errorf("warning %v: want ErrDurabilityUnconfirmed", warnings[0])
			}
			faultWantErrno(t, warnings[0], errno, "sub")
			faultWantContent(t, filepath.Join(ffs.Dir, "sub/cfg.json"), faultNew)
			faultWantListing(t, ffs.Backed("sub"), "cfg.json")
		})
	}
	// The root directory itself is fsynced through a descriptor the Root
	// keeps from its first fsync: a refusal after that is still seen.
	t.Run("root-directory", func(t *testing.T) {
		ffs, r := faultRoot(t)
		if err := r.WriteFile(faultCtx(t), "cfg.json", []byte(faultOld), 0o644); err != nil {
			t.Fatal(err)
		}
		ffs.Set(faultfs.Fault{Op: faultfs.OpFsyncDir, Errno: syscall.EINVAL, Glob: "."})
		err := r.WriteFile(faultCtx(t), "cfg.json", []byte(faultNew), 0o644)
		if !errors.Is(err, writer.ErrDurabilityUnconfirmed) {
			t.Fatalf("got %v; want ErrDurabilityUnconfirmed", err)
		}
		faultWantErrno(t, err, syscall.EINVAL, ".")
		faultWantContent(t, ffs.Backed("cfg.json"), faultNew)
	})
	// An I/O error is no refusal: the option does not hide it.
	t.Run("EIO/accepted", func(t *testing.T) {
		ffs, r := faultRoot(t)
		faultSeed(t, ffs, "sub/cfg.json", faultOld)
		ffs.Set(faultfs.Fault{Op: faultfs.OpFsyncDir, Errno: syscall.EIO, Glob: "sub"})
		err := r.WriteFile(faultCtx(t), "sub/cfg.json", []byte(faultNew), 0o644,
			writer.AcceptUnconfirmedDurability(func(error) {}))
		if !errors.Is(err, writer.ErrDurabilityUnconfirmed) {
			t.Fatalf("got %v; want ErrDurabilityUnconfirmed", err)
		}
		faultWantErrno(t, err, syscall.EIO, "sub")
		faultWantContent(t, filepath.Join(ffs.Dir, "sub/cfg.json"), faultNew)
		faultWantListing(t, ffs.Backed("sub"), "cfg.json")
	})
}

// TestFaultRenameDoneButReportsError: the rename happened but reported EIO
// (a retransmitted NFS rename): the writer checks temp and target and
// reports the commit.
func TestFaultRenameDoneButReportsError(t *testing.T) {
	ffs, r := faultRoot(t)
	faultSeed(t, ffs, "cfg.json", faultOld)
	ffs.Set(faultfs.Fault{Op: faultfs.OpRename, Errno: syscall.EIO, After: true, Count: 1})
	err := r.WriteFile(faultCtx(t), "cfg.json", []byte(faultNew), 0o644)
	if n := ffs.Injected(faultfs.OpRename); n != 1 {
		t.Fatalf("injected rename faults: got %d; want 1", n)
	}
	if err != nil {
		t.Fatalf("WriteFile after a rename that happened but reported EIO: %v; want nil (committed)", err)
	}
	faultWantContent(t, filepath.Join(ffs.Dir, "cfg.json"), faultNew)
	faultWantContent(t, ffs.Backed("cfg.json"), faultNew)
	faultWantListing(t, ffs.Backing, "cfg.json")
}

// TestFaultLinkDoneButReportsError: the create-only commit's link happened
// but reported EIO: committed, the temp's name removed.
func TestFaultLinkDoneButReportsError(t *testing.T) {
	ffs, r := faultRoot(t)
	ffs.Set(faultfs.Fault{Op: faultfs.OpLink, Errno: syscall.EIO, After: true, Count: 1})
	err := r.WriteFile(faultCtx(t), "init.json", []byte(faultNew), 0o644, writer.CreateOnly())
	if n := ffs.Injected(faultfs.OpLink); n != 1 {
		t.Fatalf("injected link faults: got %d; want 1 (err %v)", n, err)
	}
	if err != nil {
		t.Fatalf("create-only WriteFile after a link that happened but reported EIO: %v; want nil (committed)", err)
	}
	faultWantContent(t, ffs.Backed("init.json"), faultNew)
	faultWantListing(t, ffs.Backing, "init.json")
}

// TestFaultLinkRefused: a create-only commit whose link fails (and did not
// happen) commits nothing.
func TestFaultLinkRefused(t *testing.T) {
	ffs, r := faultRoot(t)
	faultSeed(t, ffs, "keep", "x")
	ffs.Set(faultfs.Fault{Op: faultfs.OpLink, Errno: syscall.EIO})
	err := r.WriteFile(faultCtx(t), "init.json", []byte(faultNew), 0o644, writer.CreateOnly())
	faultWantErrno(t, err, syscall.EIO, "init.json")
	faultWantListing(t, ffs.Backing, "keep")
}

// TestFaultOpenStaleReadFile: ESTALE on open (a replace on another host)
// is retried by ReadFile until the open succeeds.
func TestFaultOpenStaleReadFile(t *testing.T) {
	ffs, r := faultRoot(t)
	faultSeed(t, ffs, "cfg.json", faultOld)
	// The kernel retries one ESTALE itself: 4 failing FUSE opens make
	// 2 failing open(2) calls.
	ffs.Set(faultfs.Fault{Op: faultfs.OpOpen, Errno: syscall.ESTALE, Count: 4, Glob: "cfg.json"})
	got, err := r.ReadFile(faultCtx(t), "cfg.json")
	if err != nil {
		t.Fatalf("ReadFile: %v; want the content after retries", err)
	}
	if string(got) != faultOld {
		t.Fatalf("ReadFile: got %q; want %q", got, faultOld)
	}
	if n := ffs.Injected(faultfs.OpOpen); n != 4 {
		t.Fatalf("injected open faults: got %d; want 4", n)
	}
}

// TestFaultOpenStaleForever: a handle that stays stale ends the retries
// within the deadline with an error naming the path and ESTALE.
func TestFaultOpenStaleForever(t *testing.T) {
	ffs, r := faultRoot(t)
	faultSeed(t, ffs, "cfg.json", faultOld)
	ffs.Set(faultfs.Fault{Op: faultfs.OpOpen, Errno: syscall.ESTALE, Glob: "cfg.json"})
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
	defer cancel()
	start := time.Now()
	_, err := r.ReadFile(ctx, "cfg.json")
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("ReadFile returned after %v; want within the 3s deadline plus a margin", d)
	}
	faultWantErrno(t, err, syscall.ESTALE, "cfg.json")
	if n := ffs.Injected(faultfs.OpOpen); n < 4 {
		t.Errorf("injected open faults: got %d; want retries (at least 4)", n)
	}
}

// TestFaultMoveRenameEXDEV: Move's rename gets EXDEV between two
// directories of one mount: it falls back to the copy, and src is gone.
func TestFaultMoveRenameEXDEV(t *testing.T) {
	ffs := faultfs.Mount(t, faultfs.Options{})
	faultSeed(t, ffs, "spool/in.bin", faultNew)
	faultSeed(t, ffs, "vol/cfg.json", faultOld)
	r, err := writer.Open(filepath.Join(ffs.Dir, "vol"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	ffs.Set(faultfs.Fault{Op: faultfs.OpRename, Errno: syscall.EXDEV, Glob: "spool/in.bin"})
	if err := r.Move(faultCtx(t), filepath.Join(ffs.Dir, "spool/in.bin"), "cfg.json"); err != nil {
		t.Fatalf("Move with EXDEV on the rename: %v; want the copy fallback to succeed", err)
	}
	if n := ffs.Injected(faultfs.OpRename); n != 1 {
		t.Errorf("injected rename faults: got %d; want 1", n)
	}
	faultWantContent(t, ffs.Backed("vol/cfg.json"), faultNew)
	faultWantListing(t, ffs.Backed("vol"), "cfg.json")
	faultWantListing(t, ffs.Backed("spool"))
}

// TestFaultMoveRenameEXDEVOneDirectory: EXDEV from a rename inside one
// directory is not committed, with ErrCrossDevice.
func TestFaultMoveRenameEXDEVOneDirectory(t *testing.T) {
	ffs, r := faultRoot(t)
	faultSeed(t, ffs, "in.bin", faultNew)
	faultSeed(t, ffs, "cfg.json", faultOld)
	ffs.Set(faultfs.Fault{Op: faultfs.OpRename, Errno: syscall.EXDEV})
	err := r.Move(faultCtx(t), filepath.Join(ffs.Dir, "in.bin"), "cfg.json")
	faultWantErrno(t, err, syscall.EXDEV, "cfg.json")
	if !errors.Is(err, writer.ErrCrossDevice) {
		t.Errorf("errors.Is(err, ErrCrossDevice) = false; err: %v", err)
	}
	faultWantContent(t, ffs.Backed("cfg.json"), faultOld)
	faultWantContent(t, ffs.Backed("in.bin"), faultNew)
	faultWantListing(t, ffs.Backing, "cfg.json", "in.bin")
}

// TestFaultLatency: a slow filesystem (every operation delayed) changes
// nothing in the outcome.
func TestFaultLatency(t *testing.T) {
	ffs, r := faultRoot(t)
	faultSeed(t, ffs, "cfg.json", faultOld)
	ffs.Set(faultfs.Fault{Delay: 2 * time.Millisecond})
	if err := r.WriteFile(faultCtx(t), "cfg.json", []byte(faultNew), 0o644); err != nil {
		t.Fatal(err)
	}
	faultWantContent(t, ffs.Backed("cfg.json"), faultNew)
	faultWantListing(t, ffs.Backing, "cfg.json")
}

// TestFaultTempNotRemovable: the write fails and so does the removal of the
// temp: the error is the first failure's, and the temp left behind is
// unlocked, so Sweep removes it.
func TestFaultTempNotRemovable(t *testing.T) {
	ffs, r := faultRoot(t)
	faultSeed(t, ffs, "cfg.json", faultOld)
	ffs.Set(
		faultfs.Fault{Op: faultfs.OpFsync, Errno: syscall.ENOSPC, Glob: faultTempGlob("cfg.json")},
		faultfs.Fault{Op: faultfs.OpUnlink, Errno: syscall.EIO, Glob: faultTempGlob("cfg.json")},
	)
	ctx := faultCtx(t)
	err := r.WriteFile(ctx, "cfg.json", []byte(faultNew), 0o644)
	faultWantErrno(t, err, syscall.ENOSPC, "cfg.json")
	if n := ffs.Injected(faultfs.OpUnlink); n == 0 {
		t.Fatalf("the unlink fault never fired")
	}
	faultWantContent(t, ffs.Backed("cfg.json"), faultOld)
	if got := faultListing(t, ffs.Backing); len(got) != 2 {
		t.Fatalf("directory holds %q; want cfg.json and the temp that could not be removed", got)
	}
	ffs.Clear()
	rep, err := r.Sweep(ctx, 0)
	if err != nil {
		t.Fatalf("Sweep: %v", err)
	}
	if rep.Removed != 1 || rep.Live != 0 {
		t.Errorf("Sweep report %+v; want Removed 1, Live 0", rep)
	}
	faultWantListing(t, ffs.Backing, "cfg.json")
}

// TestFaultSweepFromAnotherMount: a writer's live temp seen through a second
// mount of the same volume, by a Sweep of the same host. With the locks
// forwarded to the backing files the writer's flock protects the temp. With
// locks local to each mount (as on sshfs) the flock is invisible and Sweep
// removes the live temp: the writer's Commit must then report that nothing
// was committed.
func TestFaultSweepFromAnotherMount(t *testing.T) {
	for _, locks := range []bool{true, false} {
		name := "locks local to the mount"
		if locks {
			name = "locks forwarded"
		}
		t.Run(name, func(t *testing.T) {
			a := faultfs.Mount(t, faultfs.Options{Locks: locks})
			b := faultfs.Mount(t, faultfs.Options{Locks: locks, Backing: a.Backing})
			ra, err := writer.Open(a.Dir)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { ra.Close() })
			rb, err := writer.Open(b.Dir)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { rb.Close() })
			faultSeed(t, a, "cfg.json", faultOld)
			ctx := faultCtx(t)
			f, err := ra.Create(ctx, "cfg.json", 0o644)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Abort()
			if _, err := f.Write([]byte(faultNew)); err != nil {
				t.Fatal(err)
			}
			time.Sleep(20 * time.Millisecond) // the temp is older than olderThan
			rep, err := rb.Sweep(ctx, time.Millisecond)
			if err != nil {
				t.Fatalf("Sweep through the other mount: %v", err)
			}
			err = f.Commit(ctx)
			if locks {
				if rep.Live != 1 || rep.Removed != 0 {
					t.Errorf("Sweep report %+v; want Live 1, Removed 0 (the writer's flock is visible)", rep)
				}
				if err != nil {
					t.Fatalf("Commit after the Sweep kept the temp: %v", err)
				}
				faultWantContent(t, a.Backed("cfg.json"), faultNew)
			} else {
				if rep.Removed != 1 {
					t.Errorf("Sweep report %+v; want Removed 1 (the flock is invisible from the other mount)", rep)
				}
				if err == nil {
					t.Fatalf("Commit of a temp removed under it returned nil; want not committed")
				}
				t.Logf("Commit after its temp was swept: %v", err)
				if errors.Is(err, writer.ErrDurabilityUnconfirmed) {
					t.Errorf("Commit error %v says committed", err)
				}
				faultWantContent(t, a.Backed("cfg.json"), faultOld)
			}
			faultWantListing(t, a.Backing, "cfg.json")
		})
	}
}

// TestFaultMkdirAll: a transient failure (ESTALE, ENOSPC with RetryNoSpace)
// of one mkdir is retried; a permanent one (EACCES, ENOSPC without the
// option) fails at once, names the directory and the errno, and leaves
// exactly the directories that existed before.
func TestFaultMkdirAll(t *testing.T) {
	tests := []struct {
		name  string
		fault faultfs.Fault
		opts  []writer.Option
		want  syscall.Errno // 0: success
		tries int           // failed FUSE mkdirs of a/b/c (1: not retried)
	}{
		// The kernel retries an ESTALE mkdir once itself: 4 failing FUSE
		// mkdirs make 2 failing mkdir(2) calls.
		{name: "ESTALE retried", fault: faultfs.Fault{Op: faultfs.OpMkdir, Errno: syscall.ESTALE, Count: 4, Glob: "a/b/c"}, tries: 4},
		{name: "ENOSPC retried with RetryNoSpace", fault: faultfs.Fault{Op: faultfs.OpMkdir, Errno: syscall.ENOSPC, Count: 2, Glob: "a/b/c"}, opts: []writer.Option{writer.RetryNoSpace()}, tries: 2},
		{name: "ENOSPC not retried", fault: faultfs.Fault{Op: faultfs.OpMkdir, Errno: syscall.ENOSPC, Glob: "a/b/c"}, want: syscall.ENOSPC, tries: 1},
		{name: "EACCES not retried", fault: faultfs.Fault{Op: faultfs.OpMkdir, Errno: syscall.EACCES, Glob: "a/b/c"}, want: syscall.EACCES, tries: 1},
		{name: "EROFS not retried", fault: faultfs.Fault{Op: faultfs.OpMkdir, Errno: syscall.EROFS, Glob: "a/b/c"}, want: syscall.EROFS, tries: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ffs, r := faultRoot(t)
			faultSeed(t, ffs, "keep", "x")
			ffs.Set(tt.fault)
			err := r.MkdirAll(faultCtx(t), "a/b/c/d", 0o755, tt.opts...)
			fired := ffs.Injected(faultfs.OpMkdir)
			if fired == 0 {
				t.Fatalf("the mkdir fault never fired (err %v)", err)
			}
			if tt.tries > 0 && fired != tt.tries {
				t.Errorf("mkdir of a/b/c failed %d times; want %d", fired, tt.tries)
			}
			if tt.want == 0 {
				if err != nil {
					t.Fatalf("MkdirAll: %v; want success after retries", err)
				}
				if fi, err := os.Stat(ffs.Backed("a/b/c/d")); err != nil || !fi.IsDir() {
					t.Fatalf("a/b/c/d after MkdirAll: %v, %v; want a directory", fi, err)
				}
				return
			}
			faultWantErrno(t, err, tt.want, "a/b/c")
			faultWantListing(t, ffs.Backing, "keep")
		})
	}
}

// TestFaultReadFileLookupRace: ENOENT from a lookup racing a replace (as an
// NFS client can report) is retried by ReadFile.
func TestFaultReadFileLookupRace(t *testing.T) {
	ffs, r := faultRoot(t)
	faultSeed(t, ffs, "cfg.json", faultOld)
	ffs.Set(faultfs.Fault{Op: faultfs.OpLookup, Errno: syscall.ENOENT, Count: 1, Glob: "cfg.json"})
	got, err := r.ReadFile(faultCtx(t), "cfg.json")
	if err != nil {
		t.Fatalf("ReadFile: %v; want the content after a retry", err)
	}
	if string(got) != faultOld {
		t.Fatalf("ReadFile: got %q; want %q", got, faultOld)
	}
	if n := ffs.Injected(faultfs.OpLookup); n != 1 {
		t.Fatalf("injected lookup faults: got %d; want 1", n)
	}
}

// TestFaultVisibleChangeReportsError: the visible step of an operation
// (rename, unlink, symlink swap) happened but reported EIO, as a
// retransmitted NFS request can. The operation must not report "nothing
// changed": it checks the filesystem and reports the change as made (nil, or
// ErrDurabilityUnconfirmed), and leaves a consistent state.
func TestFaultVisibleChangeReportsError(t *testing.T) {
	t.Run("RenameStaged", func(t *testing.T) {
		ffs, r := faultRoot(t)
		faultSeed(t, ffs, "cfg.json", faultOld)
		faultSeed(t, ffs, "staged.tmp", faultNew)
		ffs.Set(faultfs.Fault{Op: faultfs.OpRename, Errno: syscall.EIO, After: true, Count: 1})
		err := r.RenameStaged(faultCtx(t), "staged.tmp", "cfg.json")
		if n := ffs.Injected(faultfs.OpRename); n != 1 {
			t.Fatalf("injected rename faults: got %d; want 1", n)
		}
		if err != nil {
			t.Fatalf("RenameStaged after a rename that happened but reported EIO: %v; want nil", err)
		}
		faultWantContent(t, ffs.Backed("cfg.json"), faultNew)
		faultWantListing(t, ffs.Backing, "cfg.json")
	})
	t.Run("Move", func(t *testing.T) {
		ffs, r := faultRoot(t)
		faultSeed(t, ffs, "cfg.json", faultOld)
		faultSeed(t, ffs, "in.bin", faultNew)
		ffs.Set(faultfs.Fault{Op: faultfs.OpRename, Errno: syscall.EIO, After: true, Count: 1})
		err := r.Move(faultCtx(t), filepath.Join(ffs.Dir, "in.bin"), "cfg.json")
		if n := ffs.Injected(faultfs.OpRename); n != 1 {
			t.Fatalf("injected rename faults: got %d; want 1", n)
		}
		if err != nil {
			t.Fatalf("Move after a rename that happened but reported EIO: %v; want nil", err)
		}
		faultWantContent(t, ffs.Backed("cfg.json"), faultNew)
		faultWantListing(t, ffs.Backing, "cfg.json")
	})
	t.Run("Remove", func(t *testing.T) {
		ffs, r := faultRoot(t)
		faultSeed(t, ffs, "cfg.json", faultOld)
		faultSeed(t, ffs, "keep", "x")
		ffs.Set(faultfs.Fault{Op: faultfs.OpUnlink, Errno: syscall.EIO, After: true, Count: 1, Glob: "cfg.json"})
		err := r.Remove(faultCtx(t), "cfg.json")
		if n := ffs.Injected(faultfs.OpUnlink); n != 1 {
			t.Fatalf("injected unlink faults: got %d; want 1", n)
		}
		faultWantListing(t, ffs.Backing, "keep")
		if err != nil && !errors.Is(err, writer.ErrDurabilityUnconfirmed) {
			t.Fatalf("Remove after an unlink that happened but reported EIO: %v; "+
				"want nil (removed): an error other than ErrDurabilityUnconfirmed means \"nothing was removed\", but the file is gone", err)
		}
	})
	t.Run("PublishDir", func(t *testing.T) {
		ffs, r := faultRoot(t)
		ctx := faultCtx(t)
		fill := func(content string) func(dir string) error {
			return func(dir string) error {
				return os.WriteFile(filepath.Join(dir, "index.html"), []byte(content), 0o644)
			}
		}
		if err := r.PublishDir(ctx, "site", fill(faultOld), 2); err != nil {
			t.Fatal(err)
		}
		ffs.Set(faultfs.Fault{Op: faultfs.OpRename, Errno: syscall.EIO, After: true, Count: 1, Glob: "site"})
		err := r.PublishDir(ctx, "site", fill(faultNew), 2)
		if n := ffs.Injected(faultfs.OpRename); n != 1 {
			t.Fatalf("injected rename faults: got %d; want 1", n)
		}
		// Whatever is reported, name must lead to one whole version.
		got, rerr := os.ReadFile(ffs.Backed("site/index.html"))
		if rerr != nil {
			t.Fatalf("site/index.html after the swap reported EIO (PublishDir: %v): %v; want a whole version", err, rerr)
		}
		switch {
		case string(got) == faultNew && err != nil && !errors.Is(err, writer.ErrDurabilityUnconfirmed):
			t.Errorf("PublishDir: %v; but site shows the new version: the swap happened and must be reported as made", err)
		case string(got) == faultOld && err == nil:
			t.Errorf("PublishDir returned nil but site shows the old version")
		case string(got) != faultNew && string(got) != faultOld:
			t.Errorf("site/index.html: got %q; want a whole version", got)
		}
	})
}

// faultMoveRig mounts a fault filesystem holding a spool directory (outside
// the root) and the root vol/, with vol/cfg.json holding faultOld and
// spool/in.bin holding faultNew.
func faultMoveRig(t *testing.T) (*faultfs.FS, *writer.Root, string) {
	t.Helper()
	ffs := faultfs.Mount(t, faultfs.Options{})
	faultSeed(t, ffs, "spool/in.bin", faultNew)
	faultSeed(t, ffs, "vol/cfg.json", faultOld)
	r, err := writer.Open(filepath.Join(ffs.Dir, "vol"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return ffs, r, filepath.Join(ffs.Dir, "spool/in.bin")
}

// TestFaultMoveCopyFallback: faults during Move's cross-device copy.
func TestFaultMoveCopyFallback(t *testing.T) {
	exdev := faultfs.Fault{Op: faultfs.OpRename, Errno: syscall.EXDEV, Glob: "spool/in.bin"}

	t.Run("ENOSPC while copying", func(t *testing.T) {
		ffs, r, src := faultMoveRig(t)
		ffs.Set(exdev, faultfs.Fault{Op: faultfs.OpWrite, Errno: syscall.ENOSPC, Glob: faultTempGlob("cfg.json")})
		err := r.Move(faultCtx(t), src, "cfg.json")
		faultWantErrno(t, err, syscall.ENOSPC, "cfg.json")
		faultWantContent(t, ffs.Backed("vol/cfg.json"), faultOld)
		faultWantContent(t, ffs.Backed("spool/in.bin"), faultNew)
		faultWantListing(t, ffs.Backed("vol"), "cfg.json")
		faultWantListing(t, ffs.Backed("spool"), "in.bin") // no intent left
	})

	t.Run("directory fsync refused, then resumed", func(t *testing.T) {
		ffs, r, src := faultMoveRig(t)
		ffs.Set(exdev, faultfs.Fault{Op: faultfs.OpFsyncDir, Errno: syscall.EINVAL, Glob: "vol"})
		err := r.Move(faultCtx(t), src, "cfg.json")
		if !errors.Is(err, writer.ErrDurabilityUnconfirmed) {
			t.Fatalf("Move: %v; want ErrDurabilityUnconfirmed", err)
		}
		faultWantErrno(t, err, syscall.EINVAL, ".") // the root-relative name of vol
		faultWantContent(t, ffs.Backed("vol/cfg.json"), faultNew)
		// src is kept with its intent, so a crash now cannot lose both.
		faultWantContent(t, ffs.Backed("spool/in.bin"), faultNew)
		if got := faultListing(t, ffs.Backed("spool")); len(got) != 2 {
			t.Fatalf("spool holds %q; want in.bin and its intent", got)
		}
		ffs.Clear()
		if err := r.Move(faultCtx(t), src, "cfg.json"); err != nil {
			t.Fatalf("Move again: %v; want it to complete the earlier one", err)
		}
		faultWantContent(t, ffs.Backed("vol/cfg.json"), faultNew)
		faultWantListing(t, ffs.Backed("vol"), "cfg.json")
		faultWantListing(t, ffs.Backed("spool"))
	})

	t.Run("source not removable, then resumed", func(t *testing.T) {
		ffs, r, src := faultMoveRig(t)
		ffs.Set(exdev, faultfs.Fault{Op: faultfs.OpUnlink, Errno: syscall.EIO, Glob: "spool/in.bin"})
		err := r.Move(faultCtx(t), src, "cfg.json")
		faultWantErrno(t, err, syscall.EIO, src)
		faultWantContent(t, ffs.Backed("vol/cfg.json"), faultNew)
		faultWantContent(t, ffs.Backed("spool/in.bin"), faultNew)
		faultWantListing(t, ffs.Backed("vol"), "cfg.json")
		ffs.Clear()
		if err := r.Move(faultCtx(t), src, "cfg.json"); err != nil {
			t.Fatalf("Move again: %v; want it to complete the earlier one", err)
		}
		faultWantContent(t, ffs.Backed("vol/cfg.json"), faultNew)
		faultWantListing(t, ffs.Backed("spool"))
	})
}

// TestFaultPublishDirRenameRefused: the symlink swap fails (and did not
// happen): name still leads to the old version; the new one and the temp
// link are removed.
func TestFaultPublishDirRenameRefused(t *testing.T) {
	ffs, r := faultRoot(t)
	ctx := faultCtx(t)
	fill := func(content string) func(dir string) error {
		return func(dir string) error {
			return os.WriteFile(filepath.Join(dir, "index.html"), []byte(content), 0o644)
		}
	}
	if err := r.PublishDir(ctx, "site", fill(faultOld), 2); err != nil {
		t.Fatal(err)
	}
	before := faultListing(t, ffs.Backing)
	ffs.Set(faultfs.Fault{Op: faultfs.OpRename, Errno: syscall.EIO, Glob: "site"})
	err := r.PublishDir(ctx, "site", fill(faultNew), 2)
	faultWantErrno(t, err, syscall.EIO, "site")
	faultWantContent(t, ffs.Backed("site/index.html"), faultOld)
	faultWantListing(t, ffs.Backing, before...)
}

// TestFaultConcurrentWriters: several writers replace one file while faults
// fire at random (EIO on writes, fsyncs and renames, renames that happen but
// report EIO, refused directory fsyncs) and a reader reads it through stale
// opens. Every read is one whole version; at the end the file is a version
// whose WriteFile reported it committed (nil or ErrDurabilityUnconfirmed),
// never one reported not committed; no temp is left.
func TestFaultConcurrentWriters(t *testing.T) {
	ffs, r := faultRoot(t)
	ctx := faultCtx(t)
	payload := func(tag string) []byte {
		body := make([]byte, 32<<10)
		rand.Read(body)
		b := append([]byte(tag+"\n"), body...)
		sum := sha256.Sum256(b)
		return append(b, sum[:]...)
	}
	whole := func(b []byte) bool {
		if len(b) < sha256.Size {
			return false
		}
		sum := sha256.Sum256(b[:len(b)-sha256.Size])
		return bytes.Equal(sum[:], b[len(b)-sha256.Size:])
	}
	tagOf := func(b []byte) string { return string(b[:bytes.IndexByte(b, '\n')]) }

	seedData := payload("seed")
	faultSeed(t, ffs, "cfg.json", string(seedData))
	oneIn := func(n int) func(string) bool { return func(string) bool { return mrand.IntN(n) == 0 } }
	temps := faultTempGlob("cfg.json")
	ffs.Set(
		faultfs.Fault{Op: faultfs.OpWrite, Errno: syscall.EIO, Glob: temps, Match: oneIn(8)},
		faultfs.Fault{Op: faultfs.OpFsync, Errno: syscall.EIO, Glob: temps, Match: oneIn(8)},
		faultfs.Fault{Op: faultfs.OpRename, Errno: syscall.EIO, Match: oneIn(8)},
		faultfs.Fault{Op: faultfs.OpRename, Errno: syscall.EIO, After: true, Match: oneIn(8)},
		faultfs.Fault{Op: faultfs.OpFsyncDir, Errno: syscall.EINVAL, Match: oneIn(8)},
		faultfs.Fault{Op: faultfs.OpOpen, Errno: syscall.ESTALE, Glob: "cfg.json", Match: oneIn(4)},
	)

	const writers, each = 4, 20
	var (
		mu           sync.Mutex
		committed    = map[string]bool{}
		notCommitted = map[string]bool{}
		outcomes     = map[string]int{}
	)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				tag := fmt.Sprintf("w%d-%d", w, i)
				err := r.WriteFile(ctx, "cfg.json", payload(tag), 0o644)
				mu.Lock()
				switch {
				case err == nil:
					committed[tag] = true
					outcomes["committed"]++
				case errors.Is(err, writer.ErrDurabilityUnconfirmed):
					committed[tag] = true
					outcomes["committed, durability unconfirmed"]++
				default:
					notCommitted[tag] = true
					outcomes["not committed"]++
					if !errors.Is(err, syscall.EIO) {
						t.Errorf("WriteFile %s: %v; want EIO (the only fault that stops a commit here)", tag, err)
					}
				}
				mu.Unlock()
			}
		})
	}
	stop := make(chan struct{})
	readerDone := make(chan int)
	go func() {
		reads := 0
		for {
			select {
			case <-stop:
				readerDone <- reads
				return
			default:
			}
			b, err := r.ReadFile(ctx, "cfg.json")
			if err != nil {
				t.Errorf("ReadFile during the writes: %v", err)
				continue
			}
			if !whole(b) {
				t.Errorf("ReadFile during the writes: %d bytes that are no whole version", len(b))
			}
			reads++
		}
	}()
	wg.Wait()
	close(stop)
	reads := <-readerDone
	ffs.Clear()

	final, err := os.ReadFile(ffs.Backed("cfg.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !whole(final) {
		t.Fatalf("final content is no whole version")
	}
	tag := tagOf(final)
	switch {
	case notCommitted[tag]:
		t.Errorf("final content is %s, whose WriteFile reported nothing committed", tag)
	case tag == "seed" && len(committed) > 0:
		t.Errorf("final content is the seed although %d writes reported committed", len(committed))
	case tag != "seed" && !committed[tag]:
		t.Errorf("final content is %s, which no writer reported", tag)
	}
	faultWantListing(t, ffs.Backing, "cfg.json")
	t.Logf("outcomes %v, %d whole reads, faults injected: write %d, fsync %d, rename %d, fsyncdir %d, open %d",
		outcomes, reads, ffs.Injected(faultfs.OpWrite), ffs.Injected(faultfs.OpFsync), ffs.Injected(faultfs.OpRename),
		ffs.Injected(faultfs.OpFsyncDir), ffs.Injected(faultfs.OpOpen))
	if outcomes["not committed"] == 0 || outcomes["committed"]+outcomes["committed, durability unconfirmed"] == 0 {
		t.Errorf("outcomes %v: want both committed and not committed writes (faults at 1 in 8)", outcomes)
	}
}
