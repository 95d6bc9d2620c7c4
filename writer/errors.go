package writer

import (
	"errors"
	"io/fs"
	"os"
	"strings"
	"syscall"

	"github.com/sharedwrite/sharedwrite/internal/errno"
	"github.com/sharedwrite/sharedwrite/internal/quote"
)

// Sentinel errors. Every error a Root method returns is an *Error whose chain
// holds one of these and, when a system call failed, its syscall.Errno, so both
// errors.Is(err, ErrOutsideRoot) and errors.Is(err, syscall.ENOSPC) work.
var (
	// ErrOutsideRoot: the name is absolute, holds "..", crosses a symlink that
	// leaves the root, or ends in a symlink that dangles or points outside it.
	ErrOutsideRoot = errors.New("writer: name leaves the root")
	// ErrInvalidName: the name is empty, names the root itself, or holds a NUL.
	ErrInvalidName = errors.New("writer: invalid name")
	// ErrNotRegular: the target exists but is not a regular file (a directory,
	// FIFO, socket or device).
	ErrNotRegular = errors.New("writer: not a regular file")
	// ErrExist: a create-only commit found the target already there; someone
	// else won. errors.Is(ErrExist, fs.ErrExist) is true.
	ErrExist error = &sentinel{msg: "writer: target exists", is: fs.ErrExist}
	// ErrDurabilityUnconfirmed: the change IS visible (the rename happened) but
	// the directory fsync was refused, so it may not survive a crash.
	ErrDurabilityUnconfirmed = errors.New("writer: committed, but durability unconfirmed (directory fsync refused): the change is visible but may not survive a crash")
	// ErrBusyTarget: rename onto the target, or its removal, failed with
	// EBUSY, which means a file is bind-mounted onto it (docker -v file:file,
	// a Kubernetes subPath): neither rename nor unlink can replace it. The
	// error's step says which was tried.
	ErrBusyTarget = errors.New("writer: target is busy (EBUSY: a file bind-mounted onto it?)")
	// ErrCrossDevice: a rename that must stay on one filesystem got EXDEV.
	ErrCrossDevice = errors.New("writer: cross-device rename")
	// ErrStaged: under KeepStaged, the PreCommit hooks accepted the commit but
	// its rename failed; the temp was kept for RenameStaged.
	ErrStaged = errors.New("writer: rename failed after the commit was accepted; the temp is kept for RenameStaged")
	// ErrStaleView: ReadVersion with Until never saw a version it accepted
	// within the window.
	ErrStaleView = errors.New("writer: stale view: no acceptable version seen within the window")
	// ErrTooLarge: a whole-file read (ReadFile, ReadVersion without HashOnly)
	// found the file larger than its MaxReadSize limit, and refused to hold it
	// in memory. It comes with syscall.EFBIG; it is not transient.
	ErrTooLarge = errors.New("writer: file too large to read whole")
)

type sentinel struct {
	msg string
	is  error
}

func (e *sentinel) Error() string        { return e.msg }
func (e *sentinel) Is(target error) bool { return target == e.is }

// Error is the error every Root method returns: what was being done (Op), to
// which root-relative path (Path, and Dst for two-path steps such as rename),
// and why (Err, which unwraps to a sentinel and/or a syscall.Errno).
// Names are printed escaped, so a newline in a name cannot forge a log line.
type Error struct {
	Op   string
	Path string
	Dst  string // second path of a rename or link; empty otherwise
	Err  error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("writer: ")
	b.WriteString(e.Op)
	b.WriteByte(' ')
	b.WriteString(quote.Name(e.Path))
	if e.Dst != "" {
		b.WriteString(" -> ")
		b.WriteString(quote.Name(e.Dst))
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(strings.TrimPrefix(e.Err.Error(), "writer: "))
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// newError builds the package's struct error. It strips the *fs.PathError,
// *os.LinkError or *os.SyscallError that the os package wraps around an errno,
// so the message names the root-relative path once and keeps the errno
// reachable through errors.Is / errors.As.
func newError(op, path string, err error) *Error {
	return &Error{Op: op, Path: path, Err: bare(err)}
}

// newError2 is newError for two-path steps (rename, link).
func newError2(op, src, dst string, err error) *Error {
	return &Error{Op: op, Path: src, Dst: dst, Err: bare(err)}
}

// bare removes the os package's path wrappers around an errno. os.Root's
// refusal of a path that escapes the root (a directory swapped for a symlink
// while an operation ran) becomes ErrOutsideRoot.
func bare(err error) error {
	for {
		switch e := err.(type) {
		case *fs.PathError:
			err = e.Err
		case *os.LinkError:
			err = e.Err
		case *os.SyscallError:
			err = e.Err
		default:
			if err != nil && err.Error() == osPathEscapes {
				return &both{sentinel: ErrOutsideRoot, cause: err}
			}
			return err
		}
	}
}

// osPathEscapes is the text of the error os.Root returns for a path that
// leaves it (not exported by package os).
const osPathEscapes = "path escapes from parent"

// both joins a sentinel with its cause on one line (errors.Join would add a
// newline): "sentinel text: cause text"; errors.Is matches either.
type both struct{ sentinel, cause error }

func (b *both) Error() string {
	return b.sentinel.Error() + ": " + strings.TrimPrefix(b.cause.Error(), "writer: ")
}
func (b *both) Unwrap() []error { return []error{b.sentinel, b.cause} }

// joinLine joins errs (nils dropped) on one line, "a; b", where errors.Join
// would use several; errors.Is and errors.As see each. The os package's path
// wrappers are dropped (bare): the names in them are not escaped.
func joinLine(errs ...error) error {
	var kept lineErrs
	for _, e := range errs {
		if e != nil {
			kept = append(kept, bare(e))
		}
	}
	switch len(kept) {
	case 0:
		return nil
	case 1:
		return kept[0]
	}
	return kept
}

type lineErrs []error

func (l lineErrs) Error() string {
	parts := make([]string, len(l))
	for i, e := range l {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "; ")
}

func (l lineErrs) Unwrap() []error { return l }

// withCause returns an error that is both s and cause (cause may be nil).
func withCause(s, cause error) error {
	if cause == nil {
		return s
	}
	return &both{sentinel: s, cause: bare(cause)}
}

// IsTransient reports whether err is a failure that may succeed when the same
// call is retried: EINTR, EAGAIN, ETIMEDOUT, ESTALE, EBUSY (but not
// ErrBusyTarget: a file bind-mounted onto the target stays). Context
// cancellation and deadline expiry are never transient.
func IsTransient(err error) bool {
	// A bind-mounted target stays busy: retrying does not help.
	return !errors.Is(err, ErrBusyTarget) && errno.IsTransient(err)
}

// isErrno reports whether err wraps one of the errnos.
func isErrno(err error, errs ...syscall.Errno) bool {
	for _, e := range errs {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}
