// Package errno classifies the errors that file-system and network calls return,
// so that every package agrees on which failures are worth retrying, and on
// which fsyncs the filesystem refused rather than failed.
package errno

import (
	"context"
	"errors"
	"syscall"
)

// transient lists the errnos that a retry within the caller's deadline can cure:
// an interrupted call, a busy or stale handle on a network filesystem, a timeout.
// ENOSPC is deliberately absent: retrying a full disk only helps when the caller
// says so (see IsTransientSpace).
var transient = []syscall.Errno{
	syscall.EINTR,
	syscall.EAGAIN,
	syscall.ETIMEDOUT,
	syscall.ESTALE,
	syscall.EBUSY,
}

// IsTransient reports whether err is a failure that may succeed when the same
// call is retried: EINTR, EAGAIN, ETIMEDOUT, ESTALE, EBUSY. Context cancellation
// and deadline expiry are never transient.
func IsTransient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	for _, e := range transient {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// IsTransientSpace is IsTransient that also counts ENOSPC, for callers that
// asked to wait for space to be freed.
func IsTransientSpace(err error) bool {
	return IsTransient(err) || errors.Is(err, syscall.ENOSPC)
}

// IsSyncRefusal reports whether err is an fsync (of a directory, in practice)
// that the filesystem refused rather than failed: EINVAL, ENOTSUP or
// EOPNOTSUPP, which some FUSE and CIFS mounts return for every directory
// fsync. Whether a refusal may pass as a warning is the caller's choice
// (AcceptUnconfirmedDurability); this only names the errnos. On Windows the
// three are values the syscall package invents (no Windows error code equals
// one), so there only an error Go itself returns as one of them matches.
func IsSyncRefusal(err error) bool {
	return errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.ENOTSUP) || errors.Is(err, syscall.EOPNOTSUPP)
}

// Of returns the errno err wraps, or 0 when it wraps none.
func Of(err error) syscall.Errno {
	var e syscall.Errno
	if errors.As(err, &e) {
		return e
	}
	return 0
}
