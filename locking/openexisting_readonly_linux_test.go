//go:build linux

package locking

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
)

// writeRecord locks key's lock file in the volume at dir and records
// committed token tok.
func writeRecord(t *testing.T, dir, key string, tok uint64) {
	t.Helper()
	fl, err := openLockDirAt(t, dir).Open(key)
	if err != nil {
		t.Fatal(err)
	}
	defer fl.Close()
	if err := fl.Lock(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := fl.WriteCommitted(Version{Token: tok}); err != nil {
		t.Fatal(err)
	}
}

// openLockDirAt opens the lock directory of the volume at dir.
func openLockDirAt(t *testing.T, dir string) *LockDir {
	t.Helper()
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { root.Close() })
	d, err := OpenLockDir(root)
	if err != nil {
		t.Fatalf("OpenLockDir on %s: %v", dir, err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// On a read-only mount of the volume, OpenExisting opens the lock file
// read-only: the record reads, the lock cannot be taken (EROFS), and a
// missing lock file is fs.ErrNotExist. Open, the writers' open, still fails
// with EROFS.
func TestOpenExistingReadOnlyMount(t *testing.T) {
	rw, ro := t.TempDir(), t.TempDir()
	writeRecord(t, rw, "k", 7)
	testrig.ReadOnlyBind(t, rw, ro)
	d := openLockDirAt(t, ro)

	fl, err := d.OpenExisting("k")
	if err != nil {
		t.Fatalf("OpenExisting on a read-only mount: %v", err)
	}
	defer fl.Close()
	rec, err := fl.ReadRecord()
	if err != nil {
		t.Fatalf("ReadRecord on a read-only mount: %v", err)
	}
	if rec.Committed.Token != 7 {
		t.Errorf("record on a read-only mount: committed token %d; want 7", rec.Committed.Token)
	}
	if err := fl.Lock(context.Background()); !errors.Is(err, syscall.EROFS) {
		t.Errorf("Lock of a lock file opened read-only: got %v; want an error wrapping EROFS", err)
	}
	if ok, err := fl.TryLock(); ok || !errors.Is(err, syscall.EROFS) {
		t.Errorf("TryLock of a lock file opened read-only: got %v, %v; want false and an error wrapping EROFS", ok, err)
	}
	if err := fl.WriteCommitted(Version{Token: 8}); !errors.Is(err, ErrNotHeld) {
		t.Errorf("WriteCommitted through a lock file opened read-only: got %v; want ErrNotHeld", err)
	}

	if w, err := d.Open("k"); !errors.Is(err, syscall.EROFS) {
		if err == nil {
			w.Close()
		}
		t.Errorf("Open on a read-only mount: got %v; want an error wrapping EROFS", err)
	}
	if fl, err := d.OpenExisting("never"); !errors.Is(err, fs.ErrNotExist) {
		if err == nil {
			fl.Close()
		}
		t.Errorf("OpenExisting of a key never locked, on a read-only mount: got %v; want fs.ErrNotExist", err)
	}
}

// The read-only open keeps the checks of the read-write one: a planted
// symlink, FIFO or hard link in place of the lock file is refused on a
// read-only mount too.
func TestOpenExistingReadOnlyMountRefusesPlanted(t *testing.T) {
	testrig.NeedRoot(t)
	outside := filepath.Join(t.TempDir(), "victim")
	if err := os.WriteFile(outside, []byte("outside"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range plantedLocks(outside) {
		t.Run(tc.name, func(t *testing.T) {
			rw, ro := t.TempDir(), t.TempDir()
			mustMkdir(t, filepath.Join(rw, LocksDir))
			tc.plant(t, filepath.Join(rw, LockPath("k")))
			testrig.ReadOnlyBind(t, rw, ro)
			d := openLockDirAt(t, ro)
			fl, err := d.OpenExisting("k")
			if err == nil {
				fl.Close()
				t.Fatalf("OpenExisting through a planted %s on a read-only mount = nil error; want refused", tc.name)
			}
			if errors.Is(err, fs.ErrNotExist) {
				t.Errorf("OpenExisting through a planted %s on a read-only mount: got %v; want a refusal, not fs.ErrNotExist", tc.name, err)
			}
		})
	}
}

// A reader whose user may read the lock file but not write it (EACCES on
// O_RDWR) reads the record through OpenExisting, and cannot take the lock;
// Open still fails with EACCES.
func TestOpenExistingReadOnlyPermission(t *testing.T) {
	testrig.NeedRoot(t)
	dir := t.TempDir()
	writeRecord(t, dir, "k", 9)
	lock := filepath.Join(dir, LockPath("k"))
	// Group root may read, not write; the reader below runs as another user
	// in that group.
	if err := os.Chmod(lock, 0o640); err != nil {
		t.Fatal(err)
	}
	d := openLockDirAt(t, dir)

	type result struct {
		tok              uint64
		openErr, readErr error
		lockErr, rwErr   error
	}
	ch := make(chan result, 1)
	go func() {
		// The thread's file-system ids change while it is locked to this
		// goroutine. They are set back before it is unlocked: a locked
		// thread would end with the goroutine, and a process the test rig
		// started from that thread (the shared redis-server: Pdeathsig)
		// would be killed with it. Should they not come back, the thread
		// stays locked and ends, and no other goroutine runs as that user.
		runtime.LockOSThread()
		var r result
		defer func() { ch <- r }()
		defer func() {
			unix.Setfsuid(0)
			unix.Setfsgid(0)
			uid, _ := unix.SetfsuidRetUid(-1) // -1: only reports the current one
			gid, _ := unix.SetfsgidRetGid(-1)
			if uid == 0 && gid == 0 {
				runtime.UnlockOSThread()
			}
		}()
		unix.Setfsgid(0)
		unix.Setfsuid(65534)
		fl, err := d.OpenExisting("k")
		if r.openErr = err; err != nil {
			return
		}
		defer fl.Close()
		rec, err := fl.ReadRecord()
		r.tok, r.readErr = rec.Committed.Token, err
		r.lockErr = fl.Lock(context.Background())
		if w, err := d.Open("k"); err == nil {
			w.Close()
		} else {
			r.rwErr = err
		}
	}()
	r := <-ch
	if r.openErr != nil || r.readErr != nil || r.tok != 9 {
		t.Fatalf("OpenExisting and ReadRecord as a user who may only read: token %d, %v, %v; want 9", r.tok, r.openErr, r.readErr)
	}
	if !errors.Is(r.lockErr, fs.ErrPermission) {
		t.Errorf("Lock of a lock file opened read-only: got %v; want an error wrapping EACCES", r.lockErr)
	}
	if !errors.Is(r.rwErr, fs.ErrPermission) {
		t.Errorf("Open as a user who may only read: got %v; want an error wrapping EACCES", r.rwErr)
	}
}
