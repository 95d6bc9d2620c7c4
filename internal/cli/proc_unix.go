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
	nfd, err := unix.Dup(int(fd))
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
