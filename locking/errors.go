package locking

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/quote"
)

var (
	// ErrNotObtained: the caller's deadline passed while another holder held
	// the lease or the file lock. Wrapped in a *HolderError naming the holder
	// when it is known.
	ErrNotObtained = errors.New("locking: not obtained")
	// ErrLeaseLost: the lease expired or was taken over while held. A lease's
	// Context is cancelled with this cause.
	ErrLeaseLost = errors.New("locking: lease lost")
	// ErrNotHeld: an operation on a lease or lock this process does not hold
	// (released, abandoned, or never held).
	ErrNotHeld = errors.New("locking: not held")
	// ErrUnavailable: Redis could not be reached (connection refused, timed
	// out) and the caller's deadline passed.
	ErrUnavailable = errors.New("locking: redis unavailable")
	// ErrTLS: the TLS handshake with Redis failed on a certificate (the
	// server's not trusted or issued for another name, the client's missing
	// or refused) or on the TLS setup: a configuration error, returned at
	// once and never retried (not ErrUnavailable).
	ErrTLS = errors.New("locking: redis TLS handshake failed (certificate or TLS configuration)")
	// ErrFenced: the lock record shows a newer fencing token (or the same
	// token under another lease): committing would overwrite a newer holder.
	ErrFenced = errors.New("locking: fenced by a newer token")
	// ErrCorruptRecord: the lock record is torn, short, of an unknown version
	// or fails its checksum. It is never read as zero.
	ErrCorruptRecord = errors.New("locking: corrupt lock record")
	// ErrForeignRecord: the lock record carries this format's magic but
	// another format version or record size: most likely written by another
	// build of sharedwrite. Refused as ErrCorruptRecord is (an error matches
	// both), and never repaired or overwritten here.
	ErrForeignRecord = errors.New("locking: lock record of another format version")
)

// Error is an error with its step and key (or lock file path).
type Error struct {
	Op   string // the step: "acquire", "refresh", "release", "flock", "open", "read record", ...
	Key  string // the key (canonical relative path), or ""
	Path string // the lock file or directory, relative to the root, or ""
	Err  error
}

func (e *Error) Error() string {
	s := "locking: " + e.Op
	if e.Key != "" {
		s += " " + quote.Name(e.Key)
	}
	if e.Path != "" {
		if e.Key != "" {
			s += " (" + quote.Name(e.Path) + ")"
		} else {
			s += " " + quote.Name(e.Path)
		}
	}
	return s + ": " + strings.TrimPrefix(e.Err.Error(), "locking: ")
}

func (e *Error) Unwrap() error { return e.Err }

// HolderError is ErrNotObtained (or ErrUnavailable) with what is known about
// who held the lease or lock when the wait ended.
type HolderError struct {
	Key string
	// Lease is the holder's lease value "<host>/<pid>/<locker>/<random>"
	// (Redis), or "".
	Lease string
	// PID is the pid holding the file lock (from /proc/locks), or 0 when unknown.
	PID int
	// Waited is how long the caller waited.
	Waited time.Duration
	Err    error
}

func (e *HolderError) Error() string {
	s := "locking: " + quote.Name(e.Key) + ": " + strings.TrimPrefix(e.Err.Error(), "locking: ")
	switch {
	case e.Lease != "":
		s += " (held by " + quote.Name(e.Lease) + ")"
	case e.PID > 0:
		s += " (file lock held by pid " + strconv.Itoa(e.PID) + ")"
	}
	if e.Waited > 0 {
		s += " after " + e.Waited.String()
	}
	return s
}

func (e *HolderError) Unwrap() error { return e.Err }
