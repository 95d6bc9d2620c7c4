//go:build linux

package testrig

import "syscall"

// dieWithParent makes a started server die with the test process, so a test
// binary killed by its timeout never leaves a redis-server behind. Linux
// sends the signal when the thread that started the server ends, not the
// process: a test that locks a goroutine to its thread (LockOSThread) must
// unlock it before the goroutine returns, or the thread ends with it and
// takes with it any server the rig happened to start from that thread.
func dieWithParent() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
