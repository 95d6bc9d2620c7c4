//go:build unix

package locking

import (
	"os"
	"runtime"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestAdoptFileLockRefusedLeavesFdAlone: a descriptor number that names
// something other than a lock file (a wrong environment variable: a pipe,
// the terminal) is refused, and the descriptor, which belongs to the caller,
// stays open: no *os.File wrapping it is left for the garbage collector to
// close later.
func TestAdoptFileLockRefusedLeavesFdAlone(t *testing.T) {
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	defer pw.Close()
	fd := pr.Fd()
	if _, err := AdoptFileLock(fd, "k"); err == nil {
		t.Fatalf("AdoptFileLock(a pipe) succeeded; want an error")
	}
	for range 3 {
		runtime.GC()
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := unix.FcntlInt(fd, unix.F_GETFD, 0); err != nil {
		t.Fatalf("descriptor %d after a refused AdoptFileLock: %v; want it still open", fd, err)
	}
}

func TestAdoptFileLock(t *testing.T) {
	_, d := newLockDir(t)
	parent := openLocked(t, d, "k")
	fd, err := syscall.Dup(int(parent.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	child, err := AdoptFileLock(uintptr(fd), "k")
	if err != nil {
		t.Fatal(err)
	}
	if err := child.WriteCommitted(Version{Token: 3, LeaseID: "p"}); err != nil {
		t.Fatalf("write through the adopted lock: %v", err)
	}
	if err := child.Close(); err != nil {
		t.Fatal(err)
	}
	other, err := d.Open("k")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if ok, _ := other.TryLock(); ok {
		t.Fatalf("the parent's lock was released by closing the adopted one")
	}
	rec, err := parent.ReadRecord()
	if err != nil || rec.Committed.Token != 3 {
		t.Fatalf("record after the adopted write: %+v %v; want committed token 3", rec, err)
	}
	if err := parent.SetInheritable(true); err != nil {
		t.Fatal(err)
	}
}
