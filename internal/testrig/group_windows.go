//go:build windows

package testrig

import (
	"os"
	"os/exec"
	"syscall"
)

// OwnGroup leaves cmd as it is: Windows has no process groups to signal, so
// KillGroup ends only the process itself.
func OwnGroup(cmd *exec.Cmd) {}

// KillGroup kills the process pid (Windows has no signals to send: sigs are
// ignored) and returns the error that gave.
func KillGroup(pid int, sigs ...syscall.Signal) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	defer p.Release()
	return p.Kill()
}
