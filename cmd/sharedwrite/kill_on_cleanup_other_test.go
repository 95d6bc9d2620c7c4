//go:build unix && !linux

package main

import (
	"syscall"
	"testing"
)

// killOnCleanup SIGKILLs the process pid (one the test's command started)
// on cleanup. Without /proc it cannot tell that process from one that got
// its pid since.
func killOnCleanup(t *testing.T, pid int) {
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) })
}
