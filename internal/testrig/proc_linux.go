//go:build linux

package testrig

import "syscall"

// dieWithParent makes a started server die with the test process, so a test
// binary killed by its timeout never leaves a redis-server behind.
func dieWithParent() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
