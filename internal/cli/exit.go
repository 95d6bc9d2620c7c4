package cli

import (
	"errors"
	"fmt"
	"syscall"
)

// Exit codes, as DESIGN.md "Errors and exit codes" lists them. This file is the
// only place that maps errors to them.
const (
	exitOK            = 0 // committed
	exitFailure       = 1 // any other failure
	exitUsage         = 2 // bad flags or arguments
	exitNotObtained   = 3 // lease or lock not obtained in time
	exitLeaseLost     = 4 // lease lost or fenced; nothing committed
	exitBadVolume     = 5 // bad path or volume
	exitUnavailable   = 6 // Redis unreachable
	exitUnconfirmed   = 7 // committed, durability unconfirmed
	exitCommandFailed = 8 // the command after -- failed; nothing committed
)

// usageError is a mistake in the command line.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// exitStatus carries the exit status of the command `lock NAME -- CMD` ran: the
// CLI exits with it and prints nothing, as flock(1) does.
type exitStatus struct{ code int }

func (e exitStatus) Error() string { return fmt.Sprintf("command exited with status %d", e.code) }

// exitCode maps err to the process exit code.
func exitCode(err error) int {
	if err == nil {
		return exitOK
	}
	var st exitStatus
	if errors.As(err, &st) {
		return st.code
	}
	if errors.As(err, new(usageError)) {
		return exitUsage
	}
	var ve volumeError
	if errors.As(err, &ve) {
		return exitBadVolume
	}
	if errors.Is(err, errRedisUnavailable) {
		return exitUnavailable
	}
	return libraryExitCode(err)
}

// volumeError is a bad path or volume found by the CLI itself (exit 5).
type volumeError struct{ err error }

func (e volumeError) Error() string { return e.err.Error() }
func (e volumeError) Unwrap() error { return e.err }

// exitAfterSignal is the exit code of a run that SIGINT or SIGTERM (s)
// cancelled: 128 + s, as a shell reports a process killed by it, unless the
// change is visible (0, or 7: committed, durability unconfirmed), which is
// reported as such.
func exitAfterSignal(code int, s syscall.Signal) int {
	if code == exitOK || code == exitUnconfirmed {
		return code
	}
	return 128 + int(s)
}
