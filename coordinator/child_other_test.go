//go:build !linux

package coordinator

import (
	"os"
	"syscall"
)

// killSelf kills this process: a child role's simulated crash.
func killSelf() {
	if p, err := os.FindProcess(os.Getpid()); err == nil {
		p.Kill()
	}
}

// childProcAttr has no parent-death signal to ask for here; a child is still
// killed on cleanup.
func childProcAttr() *syscall.SysProcAttr { return nil }
