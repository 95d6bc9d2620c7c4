package coordinator

import (
	"context"
	"errors"
	"syscall"

	"github.com/sharedwrite/sharedwrite/locking"
	"github.com/sharedwrite/sharedwrite/writer"
)

// Errors of writer and locking, re-exported so callers need one import.
// Errors returned by this package wrap them: test with errors.Is.
var (
	ErrNotObtained           = locking.ErrNotObtained
	ErrLeaseLost             = locking.ErrLeaseLost
	ErrNotHeld               = locking.ErrNotHeld
	ErrFenced                = locking.ErrFenced
	ErrUnavailable           = locking.ErrUnavailable
	ErrCorruptRecord         = locking.ErrCorruptRecord
	ErrOutsideRoot           = writer.ErrOutsideRoot
	ErrInvalidName           = writer.ErrInvalidName
	ErrNotRegular            = writer.ErrNotRegular
	ErrExist                 = writer.ErrExist
	ErrDurabilityUnconfirmed = writer.ErrDurabilityUnconfirmed
	ErrBusyTarget            = writer.ErrBusyTarget
	ErrCrossDevice           = writer.ErrCrossDevice
	ErrStaleView             = writer.ErrStaleView
	ErrTooLarge              = writer.ErrTooLarge
)

// IsTransient reports whether err may succeed when retried (EINTR, EAGAIN,
// ETIMEDOUT, ESTALE, EBUSY).
func IsTransient(err error) bool { return writer.IsTransient(err) }

// Exit codes of the CLI (DESIGN.md "Errors and exit codes").
const (
	ExitOK            = 0
	ExitFailure       = 1
	ExitUsage         = 2
	ExitNotObtained   = 3
	ExitLeaseLost     = 4
	ExitBadPath       = 5
	ExitUnavailable   = 6
	ExitUnconfirmed   = 7
	ExitCommandFailed = 8
)

// ExitCode maps an operation's error to the CLI's exit code: 0 committed; 1
// other failure; 3 lease or lock not obtained in time (a deadline that passes
// while Redis refuses connections is 6); 4 lease lost or fenced, nothing
// committed; 5 bad path or volume (outside the root or in its .sharedwrite,
// not a regular file (ErrNotRegular, or EISDIR from opening a directory for
// writing), a symlink loop, a name too long, a non-directory parent, volume
// not initialised, mode mismatch, a corrupt record); 6 Redis unreachable; 7
// committed, durability unconfirmed; 8 the user's command failed, nothing
// committed (*CommandFailedError). Usage errors (2) are the CLI's own. A file
// over the read limit (ErrTooLarge, with EFBIG) is 1.
func ExitCode(err error) int {
	var cf *CommandFailedError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &cf):
		return ExitCommandFailed
	case errors.Is(err, writer.ErrDurabilityUnconfirmed):
		return ExitUnconfirmed
	case errors.Is(err, ErrOutcomeUnknown):
		// Not "nothing committed" (4), even with a lost lease: the next
		// holder may commit it.
		return ExitFailure
	case errors.Is(err, writer.ErrOutsideRoot), errors.Is(err, writer.ErrInvalidName), errors.Is(err, writer.ErrNotRegular),
		errors.Is(err, syscall.EISDIR), errors.Is(err, syscall.ELOOP), errors.Is(err, syscall.ENAMETOOLONG), errors.Is(err, syscall.ENOTDIR),
		errors.Is(err, ErrVolumeNotInitialised), errors.Is(err, ErrModeMismatch), errors.Is(err, ErrBadVolume),
		errors.Is(err, locking.ErrCorruptRecord):
		// Before the lease class: a refused name joined with the loss or
		// release of its lease is still the name's fault, and nothing was
		// committed either way.
		return ExitBadPath
	case errors.Is(err, locking.ErrLeaseLost), errors.Is(err, locking.ErrFenced), errors.Is(err, locking.ErrNotHeld):
		return ExitLeaseLost
	case errors.Is(err, locking.ErrUnavailable), errors.Is(err, syscall.ECONNREFUSED):
		return ExitUnavailable
	case errors.Is(err, locking.ErrNotObtained), errors.Is(err, ErrQueueFull), errors.Is(err, context.DeadlineExceeded):
		return ExitNotObtained
	}
	return ExitFailure
}
