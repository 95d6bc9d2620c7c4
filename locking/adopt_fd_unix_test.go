//go:build unix

package locking

import (
	"os"
	"runtime"
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
