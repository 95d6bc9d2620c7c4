//go:build unix

package testrig

import (
	"os/exec"
	"syscall"
)

// OwnGroup makes cmd start as the leader of its own process group, so that
// KillGroup also ends the commands it runs.
func OwnGroup(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
}

// KillGroup sends each of sigs in turn (SIGKILL when none) to the process
// group led by pid, as started with OwnGroup, and returns the first error
// kill(2) gave.
func KillGroup(pid int, sigs ...syscall.Signal) error {
	if len(sigs) == 0 {
		sigs = []syscall.Signal{syscall.SIGKILL}
	}
	var first error
	for _, s := range sigs {
		if err := syscall.Kill(-pid, s); err != nil && first == nil {
			first = err
		}
	}
	return first
}
