//go:build linux

package main

import (
	"syscall"
	"testing"

	"github.com/sharedwrite/sharedwrite/internal/procstat"
)

// killOnCleanup SIGKILLs the process pid (one the test's command started)
// on cleanup if it still runs: only that very process, told by its start
// time where the system shows it, never another that got its pid since.
func killOnCleanup(t *testing.T, pid int) {
	start, _ := procstat.Of(pid)
	t.Cleanup(func() {
		if now, _ := procstat.Of(pid); now == start {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	})
}
