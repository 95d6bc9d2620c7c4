//go:build unix

package cli

import (
	"os"
	"os/exec"
	"syscall"

	"golang.org/x/sys/unix"
)

// inheritable returns a duplicate of the lock descriptor fd for a child. It
// shares the open file description, so the child holds the same flock.
func inheritable(fd uintptr, key string) (*os.File, error) {
	if fd == 0 {
		return nil, nil
	}
	// Close-on-exec: CMD gets it as descriptor 3 (ExtraFiles), not a second
	// time at this number, nor does anything else this process runs.
	nfd, err := unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(nfd), "lock:"+key), nil
}

func terminate(p *os.Process) { _ = p.Signal(syscall.SIGTERM) }

func signalOf(ee *exec.ExitError) int {
	if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return int(ws.Signal())
	}
	return 0
}
