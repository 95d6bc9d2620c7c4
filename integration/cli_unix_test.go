//go:build unix

package integration

import "syscall"

// cleanupSignals end a started CLI's process group left running at cleanup:
// SIGCONT first, for a group a scenario left stopped, then SIGKILL.
var cleanupSignals = []syscall.Signal{syscall.SIGCONT, syscall.SIGKILL}
