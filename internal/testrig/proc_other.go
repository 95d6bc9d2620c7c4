//go:build !linux

package testrig

import "syscall"

// dieWithParent has no equivalent of Linux's parent-death signal here; servers
// are still killed by pid on cleanup.
func dieWithParent() *syscall.SysProcAttr { return nil }
