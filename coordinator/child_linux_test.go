//go:build linux

package coordinator

import (
	"os"
	"syscall"
)

// killSelf SIGKILLs this process: a child role's simulated crash.
func killSelf() { syscall.Kill(os.Getpid(), syscall.SIGKILL) }

// childProcAttr makes a child die with the test process (SIGKILL on the
// parent's death), so a test binary killed by its timeout leaves none behind.
func childProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
