//go:build unix

package cli

import (
	"errors"

	"golang.org/x/sys/unix"
)

// processGone reports whether the process pid that started at start (as
// procStart gives it; "" unknown) is certainly gone: no process has the pid,
// or the one that has it is a zombie or started at another time (the pid
// was reused). A process that may be it is not gone.
func processGone(pid int, start string) bool {
	if pid <= 0 {
		return false
	}
	// EPERM: a process of another user has the pid.
	if err := unix.Kill(pid, 0); errors.Is(err, unix.ESRCH) {
		return true
	}
	now, zombie := procState(pid)
	return zombie || start != "" && now != "" && now != start
}
