//go:build linux

package faultfs_test

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/testrig/faultfs"
	"golang.org/x/sys/unix"
)

func writeFile(t *testing.T, p, content string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestPlainLoopback(t *testing.T) {
	f := faultfs.Mount(t, faultfs.Options{})
	writeFile(t, filepath.Join(f.Dir, "a"), "hello")
	if got := readFile(t, filepath.Join(f.Backing, "a")); got != "hello" {
		t.Fatalf("backing content: got %q; want %q", got, "hello")
	}
	writeFile(t, filepath.Join(f.Backing, "b"), "from backing")
	if got := readFile(t, filepath.Join(f.Dir, "b")); got != "from backing" {
		t.Fatalf("content through the mount: got %q; want %q", got, "from backing")
	}
	if f.Count(faultfs.OpCreate) < 1 || f.Count(faultfs.OpWrite) < 1 {
		t.Fatalf("counters: create %d, write %d; want both >= 1", f.Count(faultfs.OpCreate), f.Count(faultfs.OpWrite))
	}
	if n := f.Injected(faultfs.OpAny); n != 0 {
		t.Fatalf("injected %d faults with no rule; want 0", n)
	}
}

func TestWriteFaults(t *testing.T) {
	tests := []struct {
		name  string
		fault faultfs.Fault
		want  []syscall.Errno // errno of writes 1..n (0 = success)
	}{
		{"EIO on the 3rd write", faultfs.Fault{Op: faultfs.OpWrite, Errno: syscall.EIO, Skip: 2, Count: 1}, []syscall.Errno{0, 0, syscall.EIO, 0}},
		{"ENOSPC on every write after the 2nd", faultfs.Fault{Op: faultfs.OpWrite, Errno: syscall.ENOSPC, Skip: 2}, []syscall.Errno{0, 0, syscall.ENOSPC, syscall.ENOSPC}},
		{"glob limits to the temp", faultfs.Fault{Op: faultfs.OpWrite, Errno: syscall.EIO, Glob: "*.tmp"}, []syscall.Errno{0, 0, 0, 0}},
	}
	f := faultfs.Mount(t, faultfs.Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file, err := os.Create(filepath.Join(f.Dir, "data"))
			if err != nil {
				t.Fatal(err)
			}
			defer file.Close()
			f.Set(tt.fault)
			defer f.Clear()
			for i, want := range tt.want {
				_, err := file.Write([]byte("0123456789"))
				if want == 0 && err != nil || want != 0 && !errors.Is(err, want) {
					t.Errorf("write %d: got %v; want errno %d (%v)", i+1, err, want, want)
				}
			}
		})
	}
}

func TestWriteFaultOnTempOnly(t *testing.T) {
	f := faultfs.Mount(t, faultfs.Options{})
	f.Set(faultfs.Fault{Op: faultfs.OpWrite, Errno: syscall.ENOSPC, Glob: ".*.tmp"})
	if err := os.WriteFile(filepath.Join(f.Dir, "target"), []byte("x"), 0o600); err != nil {
		t.Fatalf("write to a path the glob does not match: %v", err)
	}
	err := os.WriteFile(filepath.Join(f.Dir, ".target.1.tmp"), []byte("x"), 0o600)
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("write to the temp: got %v; want ENOSPC", err)
	}
	if n := f.Injected(faultfs.OpWrite); n != 1 {
		t.Fatalf("injected write faults: got %d; want 1", n)
	}
}

func TestFsyncFault(t *testing.T) {
	f := faultfs.Mount(t, faultfs.Options{})
	file, err := os.Create(filepath.Join(f.Dir, "data"))
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	if err := file.Sync(); err != nil {
		t.Fatalf("fsync with no fault: %v", err)
	}
	f.Set(faultfs.Fault{Op: faultfs.OpFsync, Errno: syscall.EIO})
	if err := file.Sync(); !errors.Is(err, syscall.EIO) {
		t.Fatalf("fsync: got %v; want EIO", err)
	}
	f.Clear()
	if err := file.Sync(); err != nil {
		t.Fatalf("fsync after Clear: %v", err)
	}
}

func TestDirFsyncFault(t *testing.T) {
	for _, errno := range []syscall.Errno{syscall.EINVAL, syscall.ENOTSUP} {
		t.Run(errno.Error(), func(t *testing.T) {
			f := faultfs.Mount(t, faultfs.Options{})
			if err := os.Mkdir(filepath.Join(f.Dir, "sub"), 0o755); err != nil {
				t.Fatal(err)
			}
			f.Set(faultfs.Fault{Op: faultfs.OpFsyncDir, Errno: errno, Glob: "sub"})
			for _, tc := range []struct {
				dir  string
				want error
			}{{f.Dir, nil}, {filepath.Join(f.Dir, "sub"), errno}} {
				d, err := os.Open(tc.dir)
				if err != nil {
					t.Fatal(err)
				}
				err = d.Sync()
				d.Close()
				if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
					t.Errorf("fsync of directory %s: got %v; want %v", tc.dir, err, tc.want)
				}
			}
			if n := f.Count(faultfs.OpFsyncDir); n != 2 {
				t.Errorf("fsyncdir operations seen: got %d; want 2", n)
			}
		})
	}
}

func TestRenameCrossDevice(t *testing.T) {
	f := faultfs.Mount(t, faultfs.Options{})
	src, dst := filepath.Join(f.Dir, "src"), filepath.Join(f.Dir, "dst")
	writeFile(t, src, "new")
	writeFile(t, dst, "old")
	f.Set(faultfs.Fault{Op: faultfs.OpRename, Errno: syscall.EXDEV})
	if err := os.Rename(src, dst); !errors.Is(err, syscall.EXDEV) {
		t.Fatalf("rename: got %v; want EXDEV", err)
	}
	if got := readFile(t, dst); got != "old" {
		t.Fatalf("target after a refused rename: got %q; want %q", got, "old")
	}
	if got := readFile(t, src); got != "new" {
		t.Fatalf("source after a refused rename: got %q; want %q", got, "new")
	}
}

func TestRenameDoneButReportsError(t *testing.T) {
	f := faultfs.Mount(t, faultfs.Options{})
	src, dst := filepath.Join(f.Dir, "src"), filepath.Join(f.Dir, "dst")
	writeFile(t, src, "new")
	writeFile(t, dst, "old")
	// Keep a descriptor on the source so the moved inode stays known.
	keep, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer keep.Close()
	f.Set(faultfs.Fault{Op: faultfs.OpRename, Errno: syscall.EIO, After: true, Count: 1})
	if err := os.Rename(src, dst); !errors.Is(err, syscall.EIO) {
		t.Fatalf("rename: got %v; want EIO", err)
	}
	for _, dir := range []string{f.Dir, f.Backing} {
		if got := readFile(t, filepath.Join(dir, "dst")); got != "new" {
			t.Errorf("target in %s after the rename: got %q; want %q", dir, got, "new")
		}
		if _, err := os.Lstat(filepath.Join(dir, "src")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("source in %s after the rename: got %v; want it gone", dir, err)
		}
	}
	// The moved file is still usable under its new name.
	if err := os.WriteFile(dst, []byte("newer"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(f.Backing, "dst")); got != "newer" {
		t.Fatalf("backing target after a write through the mount: got %q; want %q", got, "newer")
	}
}

func TestOpenStale(t *testing.T) {
	f := faultfs.Mount(t, faultfs.Options{})
	p := filepath.Join(f.Dir, "data")
	writeFile(t, p, "content")
	// The VFS retries an open that fails with ESTALE once, so two failing
	// FUSE opens make one failing open(2).
	f.Set(faultfs.Fault{Op: faultfs.OpOpen, Errno: syscall.ESTALE, Count: 2})
	if _, err := os.ReadFile(p); !errors.Is(err, syscall.ESTALE) {
		t.Fatalf("first open: got %v; want ESTALE", err)
	}
	if got := readFile(t, p); got != "content" {
		t.Fatalf("second read: got %q; want %q", got, "content")
	}
	if n := f.Injected(faultfs.OpOpen); n != 2 {
		t.Fatalf("injected open faults: got %d; want 2", n)
	}
}

func TestOpenStaleOnceIsRetriedByTheKernel(t *testing.T) {
	f := faultfs.Mount(t, faultfs.Options{})
	p := filepath.Join(f.Dir, "data")
	writeFile(t, p, "content")
	f.Set(faultfs.Fault{Op: faultfs.OpOpen, Errno: syscall.ESTALE, Count: 1})
	if got := readFile(t, p); got != "content" {
		t.Fatalf("read: got %q; want %q", got, "content")
	}
	if n := f.Injected(faultfs.OpOpen); n != 1 {
		t.Fatalf("injected open faults: got %d; want 1", n)
	}
}

func TestDelay(t *testing.T) {
	f := faultfs.Mount(t, faultfs.Options{})
	p := filepath.Join(f.Dir, "data")
	writeFile(t, p, "x")
	const delay = 200 * time.Millisecond
	f.Set(faultfs.Fault{Op: faultfs.OpFsync, Delay: delay})
	file, err := os.OpenFile(p, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	start := time.Now()
	if err := file.Sync(); err != nil {
		t.Fatalf("fsync with a delay only: %v", err)
	}
	if got := time.Since(start); got < delay {
		t.Fatalf("fsync returned after %v; want at least the injected %v", got, delay)
	}
}

func TestSetWhileInUse(t *testing.T) {
	f := faultfs.Mount(t, faultfs.Options{})
	file, err := os.Create(filepath.Join(f.Dir, "data"))
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 200; i++ {
			f.Set(faultfs.Fault{Op: faultfs.OpWrite, Errno: syscall.EIO})
			f.Clear()
		}
	}()
	for i := 0; i < 200; i++ {
		if _, err := file.Write([]byte("x")); err != nil && !errors.Is(err, syscall.EIO) {
			t.Fatalf("write %d: got %v; want nil or EIO", i, err)
		}
	}
	<-done
	f.Clear()
	if _, err := file.Write([]byte("x")); err != nil {
		t.Fatalf("write after Clear: %v", err)
	}
}

func TestLocks(t *testing.T) {
	tests := []struct {
		locks      bool
		wantShared bool // the second mount's LOCK_NB fails
	}{
		{locks: false, wantShared: false},
		{locks: true, wantShared: true},
	}
	for _, tt := range tests {
		name := "local to the mount"
		if tt.locks {
			name = "forwarded to the backing files"
		}
		t.Run(name, func(t *testing.T) {
			a := faultfs.Mount(t, faultfs.Options{Locks: tt.locks})
			b := faultfs.Mount(t, faultfs.Options{Locks: tt.locks, Backing: a.Backing})
			writeFile(t, filepath.Join(a.Dir, "lock"), "")
			fa, err := os.OpenFile(filepath.Join(a.Dir, "lock"), os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer fa.Close()
			fb, err := os.OpenFile(filepath.Join(b.Dir, "lock"), os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer fb.Close()
			if err := unix.Flock(int(fa.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
				t.Fatalf("flock on mount A: %v", err)
			}
			err = unix.Flock(int(fb.Fd()), unix.LOCK_EX|unix.LOCK_NB)
			if gotShared := errors.Is(err, unix.EWOULDBLOCK); gotShared != tt.wantShared {
				t.Fatalf("flock LOCK_NB on mount B while A holds it: got %v; want blocked = %v", err, tt.wantShared)
			}
			// The same holds for fcntl (open file description) locks.
			wr := unix.Flock_t{Type: unix.F_WRLCK, Whence: 0, Start: 0, Len: 0}
			if err := unix.FcntlFlock(fa.Fd(), unix.F_OFD_SETLK, &wr); err != nil {
				t.Fatalf("fcntl lock on mount A: %v", err)
			}
			wr = unix.Flock_t{Type: unix.F_WRLCK, Whence: 0, Start: 0, Len: 0}
			err = unix.FcntlFlock(fb.Fd(), unix.F_OFD_SETLK, &wr)
			if gotShared := errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EACCES); gotShared != tt.wantShared {
				t.Fatalf("fcntl lock on mount B while A holds it: got %v; want blocked = %v", err, tt.wantShared)
			}
			// Within one mount the lock always works.
			fa2, err := os.OpenFile(filepath.Join(a.Dir, "lock"), os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer fa2.Close()
			if err := unix.Flock(int(fa2.Fd()), unix.LOCK_EX|unix.LOCK_NB); !errors.Is(err, unix.EWOULDBLOCK) {
				t.Fatalf("second flock on mount A: got %v; want EWOULDBLOCK", err)
			}
		})
	}
}

func TestUnmountDetachesBusyMount(t *testing.T) {
	f := faultfs.Mount(t, faultfs.Options{})
	file, err := os.Create(filepath.Join(f.Dir, "held"))
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	if err := f.Unmount(); err != nil {
		t.Fatalf("unmount with a file open: %v", err)
	}
	var st, parent unix.Stat_t
	if err := unix.Stat(f.Dir, &st); err != nil {
		t.Fatal(err)
	}
	if err := unix.Stat(filepath.Dir(f.Dir), &parent); err != nil {
		t.Fatal(err)
	}
	if st.Dev != parent.Dev {
		t.Fatalf("mount point still on another device (%d vs %d) after Unmount", st.Dev, parent.Dev)
	}
}
