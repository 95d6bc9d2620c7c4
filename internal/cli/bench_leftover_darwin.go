//go:build darwin

package cli

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// procSpace: macOS has no pid namespaces; a reboot is seen in the start
// times.
func procSpace() string { return "" }

// procStart returns the start time of process pid (kern.proc.pid's
// p_starttime, in µs), "" when it cannot be read.
func procStart(pid int) string {
	s, _ := procState(pid)
	return s
}

// procState returns the start time of process pid and whether it is a
// zombie.
func procState(pid int) (start string, zombie bool) {
	k, err := unix.SysctlKinfoProc("kern.proc.pid", pid)
	if err != nil || int(k.Proc.P_pid) != pid {
		return "", false
	}
	t := k.Proc.P_starttime
	const szomb = 5 // SZOMB, <sys/proc.h>
	return fmt.Sprintf("%d.%06d", t.Sec, t.Usec), k.Proc.P_stat == szomb
}
