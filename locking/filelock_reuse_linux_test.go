//go:build linux

package locking

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
)

// keptLockDir is newLockDir on a filesystem where lock file descriptors are
// kept for reuse (the test's temp directory: ext4, xfs, btrfs or tmpfs).
func keptLockDir(t *testing.T) (*os.Root, *LockDir) {
	t.Helper()
	root, d := newLockDir(t)
	if !d.reuse {
		testrig.Unavailable(t, "the temp directory's filesystem is not one where lock file descriptors are kept")
	}
	return root, d
}

// lockAndClose opens key, locks it, writes v as its committed version and
// closes it, checking that its descriptor was kept for reuse.
func lockAndClose(t *testing.T, d *LockDir, key string, v Version) {
	t.Helper()
	fl := openLocked(t, d, key)
	if err := fl.WriteCommitted(v); err != nil {
		t.Fatal(err)
	}
	if err := fl.Close(); err != nil {
		t.Fatal(err)
	}
	d.idle.mu.Lock()
	_, kept := d.idle.byKey[key]
	d.idle.mu.Unlock()
	if !kept {
		t.Fatalf("the descriptor of %s was not kept after Close", key)
	}
}

// A lock file changed at its name while its descriptor was kept (restored
// from a backup, removed, a symlink or a hard link planted) is found by the
// key's next Open as a new open would find it: the new file is the one
// locked and written, and a planted link is refused.
func TestOpenAfterCloseFindsTheFileAtTheName(t *testing.T) {
	outside := filepath.Join(t.TempDir(), "victim")
	const content = "outside the locks directory\n"
	for _, tc := range []struct {
		name    string
		change  func(t *testing.T, lockPath string)
		refused bool
		want    uint64 // the committed token Open's FileLock reads
	}{
		{"replaced", func(t *testing.T, p string) {
			if err := os.Rename(p, p+".old"); err != nil {
				t.Fatal(err)
			}
			b, err := encodeRecord(Record{Committed: Version{Token: 7, LeaseID: "restored"}})
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, b, 0o660); err != nil {
				t.Fatal(err)
			}
		}, false, 7},
		{"removed", func(t *testing.T, p string) {
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
		}, false, 0},
		{"symlink planted", func(t *testing.T, p string) {
			if err := os.Rename(p, p+".old"); err != nil {
				t.Fatal(err)
			}
			mustSymlink(t, outside, p)
		}, true, 0},
		{"hard link planted", func(t *testing.T, p string) {
			if err := os.Link(p, filepath.Join(filepath.Dir(p), "..", "elsewhere")); err != nil {
				t.Fatal(err)
			}
		}, true, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := os.WriteFile(outside, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			root, d := keptLockDir(t)
			lockAndClose(t, d, "k", Version{Token: 3, LeaseID: "before"})
			p := filepath.Join(root.Name(), LockPath("k"))
			tc.change(t, p)

			fl, err := d.Open("k")
			if tc.refused {
				if err == nil {
					fl.Close()
					t.Fatalf("Open after the lock file's %s succeeded; want refused", tc.name)
				}
				t.Logf("refused: %v", err)
				if got, _ := os.ReadFile(outside); string(got) != content {
					t.Fatalf("outside file now %q", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer fl.Close()
			rec, err := fl.ReadRecord()
			if err != nil {
				t.Fatal(err)
			}
			if rec.Committed.Token != tc.want {
				t.Fatalf("committed token read %d; want %d (the file now at the name)", rec.Committed.Token, tc.want)
			}
			if err := fl.Lock(context.Background()); err != nil {
				t.Fatal(err)
			}
			if err := fl.WriteCommitted(Version{Token: 9, LeaseID: "after"}); err != nil {
				t.Fatal(err)
			}
			other, err := os.OpenFile(p, os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer other.Close()
			if err := unix.Flock(int(other.Fd()), unix.LOCK_EX|unix.LOCK_NB); !errors.Is(err, unix.EWOULDBLOCK) {
				t.Fatalf("flock of the file at the name while Open's FileLock holds it: %v; want EWOULDBLOCK", err)
			}
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			r, err := decodeRecord(b, len(b))
			if err != nil || r.Committed.Token != 9 {
				t.Fatalf("record at the name: committed token %d (%v); want 9", r.Committed.Token, err)
			}
		})
	}
}

// A closed FileLock is not usable, also when its descriptor went to another
// FileLock of the key: it cannot lock (which would take the other's lock), a
// second Close leaves the other's descriptor open, and two FileLocks of the
// key still exclude each other.
func TestClosedFileLockKeepsOffItsKeptDescriptor(t *testing.T) {
	_, d := keptLockDir(t)
	old := openLocked(t, d, "k")
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}
	cur := openLocked(t, d, "k") // on old's descriptor
	defer cur.Close()
	if cur.f != old.f {
		t.Fatalf("the key's next Open did not take the kept descriptor")
	}
	if err := old.Lock(context.Background()); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Lock after Close: %v; want os.ErrClosed", err)
	}
	if ok, err := old.TryLock(); ok || !errors.Is(err, os.ErrClosed) {
		t.Errorf("TryLock after Close: %v, %v; want false, os.ErrClosed", ok, err)
	}
	if _, err := old.ReadRecord(); !errors.Is(err, os.ErrClosed) {
		t.Errorf("ReadRecord after Close: %v; want os.ErrClosed", err)
	}
	if err := old.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := cur.WriteCommitted(Version{Token: 2, LeaseID: "cur"}); err != nil {
		t.Fatalf("WriteCommitted through the kept descriptor after the old FileLock's second Close: %v", err)
	}
	third, err := d.Open("k")
	if err != nil {
		t.Fatal(err)
	}
	defer third.Close()
	if ok, err := third.TryLock(); err != nil || ok {
		t.Fatalf("TryLock of a third FileLock while the second holds the key: %v, %v; want false", ok, err)
	}
	if err := cur.Unlock(); err != nil {
		t.Fatal(err)
	}
	if ok, err := third.TryLock(); err != nil || !ok {
		t.Fatalf("TryLock once the second unlocked: %v, %v; want true", ok, err)
	}
}

// A descriptor handed out (Fd, File) may be shared with another process: it
// is closed by Close, never kept for the key's next Open.
func TestHandedOutLockDescriptorIsClosed(t *testing.T) {
	_, d := keptLockDir(t)
	for _, hand := range []struct {
		name string
		fd   func(*FileLock) uintptr
	}{
		{"Fd", (*FileLock).Fd},
		{"File", func(l *FileLock) uintptr { return l.File().Fd() }},
	} {
		t.Run(hand.name, func(t *testing.T) {
			fl := openLocked(t, d, "k-"+hand.name)
			fd := hand.fd(fl)
			if err := fl.Close(); err != nil {
				t.Fatal(err)
			}
			if _, err := unix.FcntlInt(fd, unix.F_GETFD, 0); !errors.Is(err, unix.EBADF) {
				t.Fatalf("descriptor %d after Close: F_GETFD = %v; want EBADF", fd, err)
			}
		})
	}
}

// Kept descriptors are closed once unused for idleMax, and by the LockDir's
// Close.
func TestKeptLockDescriptorsClosed(t *testing.T) {
	countFDs := func() int {
		t.Helper()
		es, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			t.Fatal(err)
		}
		return len(es)
	}
	_, d := keptLockDir(t)
	keys := []string{"a", "b", "c"}
	before := countFDs()
	for _, k := range keys {
		lockAndClose(t, d, k, Version{Token: 1})
	}
	if n := countFDs(); n != before+len(keys) {
		t.Fatalf("%d descriptors open after closing %d FileLocks; want %d (kept)", n, len(keys), before+len(keys))
	}
	deadline := time.Now().Add(idleMax + 5*time.Second)
	for countFDs() > before {
		if time.Now().After(deadline) {
			t.Fatalf("%d descriptors open %v after the last Close; want the %d kept ones closed", countFDs(), idleMax+5*time.Second, len(keys))
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, k := range keys {
		lockAndClose(t, d, k, Version{Token: 2})
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if n := countFDs(); n != before-1 {
		t.Fatalf("%d descriptors open after the LockDir's Close; want %d (its directory and the kept ones closed)", n, before-1)
	}
}
