//go:build windows

package integration

import "syscall"

// cleanupSignals: nothing to send on Windows, where testrig.KillGroup just
// kills the process.
var cleanupSignals []syscall.Signal
