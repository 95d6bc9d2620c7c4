package coordinator

import (
	"errors"
	"fmt"
	"io/fs"

	"github.com/sharedwrite/sharedwrite/internal/quote"
	"github.com/sharedwrite/sharedwrite/writer"
)

// Errors of this package. Errors from writer and locking are returned wrapped,
// so errors.Is works with their sentinels (re-exported below in exitcode.go) and
// with the errno (syscall.ENOSPC, ...).
// errNilFunc refuses a nil function argument (fn, gen, fill), before any
// lease is taken.
var errNilFunc = fmt.Errorf("%w: the function argument is nil", fs.ErrInvalid)

var (
	// ErrQueueFull: the operation limits (WithLimits) are exhausted.
	ErrQueueFull = errors.New("coordinator: too many operations in flight and queued")
	// ErrVolumeNotInitialised: Redis mode on a volume without .sharedwrite/volume-id
	// (run InitVolume, `sharedwrite init-volume`, once).
	ErrVolumeNotInitialised = errors.New("coordinator: volume not initialised for Redis mode (run init-volume once)")
	// ErrModeMismatch: the volume's .sharedwrite/config records another mode.
	ErrModeMismatch = errors.New("coordinator: volume mode mismatch")
	// ErrClosed: the Coordinator was closed.
	ErrClosed = errors.New("coordinator: closed")
	// ErrCorruptIntent: a transaction intent is torn or unreadable. It was never
	// the commit point and is discarded.
	ErrCorruptIntent = errors.New("coordinator: transaction intent torn or unreadable")
	// ErrAdoptedLock: the lock descriptor given with WithAdoptedLease is not
	// the key's lock file, or does not hold its lock.
	ErrAdoptedLock = errors.New("coordinator: inherited lock descriptor refused")
	// ErrDuplicateName: a transaction names one file twice (under any
	// spelling that resolves to it: "./a", "d/../a", a symlinked directory).
	ErrDuplicateName = errors.New("coordinator: the same file twice in one transaction")
	// ErrBadVolume: the volume's .sharedwrite files are unreadable or malformed.
	ErrBadVolume = errors.New("coordinator: bad volume metadata")
	// ErrMetadataName: the name lies in the volume's own metadata directory
	// (.sharedwrite: config, volume-id, locks/, tx/). It wraps ErrOutsideRoot
	// (exit 5).
	ErrMetadataName error = metadataNameError{}
)

// metadataNameError is ErrMetadataName: its own message, and errors.Is
// matches ErrOutsideRoot too.
type metadataNameError struct{}

func (metadataNameError) Error() string {
	return "coordinator: the name is the volume's own metadata (.sharedwrite), not a file to operate on"
}

func (metadataNameError) Is(target error) bool { return target == writer.ErrOutsideRoot }

// Error records the step, the path (relative to the root, or the key) and the
// cause of a failed operation.
type Error struct {
	Op   string // the step: "resolve", "lease", "flock", "floor", "read", "write", "commit", "release", ...
	Path string
	Err  error
}

func (e *Error) Error() string {
	return fmt.Sprintf("coordinator: %s %s: %v", e.Op, quote.Name(e.Path), e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

func wrap(op, path string, err error) error {
	if err == nil {
		return nil
	}
	return &Error{Op: op, Path: path, Err: err}
}

// CommandFailedError reports that the user's function or command (Update's fn,
// InitOnce's generator, the CLI's command after `--`) failed, so nothing was
// committed. ExitCode maps it to 8; the CLI wraps a command's non-zero exit in it.
type CommandFailedError struct {
	Path string
	// Status is the command's exit status when it is a process, else 0.
	Status int
	Err    error
}

func (e *CommandFailedError) Error() string {
	if e.Status != 0 {
		return fmt.Sprintf("coordinator: command for %s failed with status %d, nothing committed: %v", quote.Name(e.Path), e.Status, e.Err)
	}
	return fmt.Sprintf("coordinator: command for %s failed, nothing committed: %v", quote.Name(e.Path), e.Err)
}

func (e *CommandFailedError) Unwrap() error { return e.Err }
