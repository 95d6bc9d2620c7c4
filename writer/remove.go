package writer

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"syscall"
	"time"
)

// Remove removes name from the root: after the PreCommit hook (Op "remove",
// Change.Name the canonical name) it unlinks the file and fsyncs its
// directory, so the removal survives a crash. name is resolved like every
// other name (see Resolve): a symlink inside the root leads to the file it
// names, which is what is removed — one file has one key whichever name is
// used. Only a regular file is removed: a directory, FIFO, socket or device
// is refused with ErrNotRegular. A leftover in-place rewrite of the file is
// settled first (see InPlaceIfBusy).
//
// Outcomes as for WriteFile: nil; an error wrapping ErrDurabilityUnconfirmed
// when the file is gone but the directory fsync was refused; any other error
// means nothing was removed. A missing file is an *Error wrapping
// fs.ErrNotExist (and ENOENT); an unlink that reports an error but did
// happen (checked with Lstat) counts as made; a file bind-mounted onto the name is
// ErrBusyTarget; a non-empty directory is ENOTEMPTY.
func (r *Root) Remove(ctx context.Context, name string, opts ...Option) (err error) {
	defer rethrow(&err)
	cfg := newConfig(opts)
	rel, fi, err := r.resolve(name)
	if err != nil {
		return err
	}
	if fi == nil {
		return newError("remove", rel, syscall.ENOENT)
	}
	if !fi.Mode().IsRegular() {
		return newError("remove", rel, NotRegularError(fi.Mode()))
	}
	if _, err := r.settleInPlace(ctx, rel, cfg); err != nil {
		return err
	}
	ch := Change{Op: "remove", Name: rel, Size: fi.Size()}
	if err := cfg.runPreCommit(ctx, ch); err != nil {
		return err
	}
	start := time.Now()
	// unlinkat without AT_REMOVEDIR: a directory put in the file's place
	// since it was resolved (during the PreCommit hook) is refused, not
	// removed as os.Root.Remove would.
	err = r.unlinkAt(rel, false)
	cfg.emit("remove", rel, start, 0, err)
	if err != nil && !errors.Is(err, syscall.EBUSY) {
		// An unlink that reports an error may still have happened (a
		// retransmitted NFS unlink answers ENOENT, rename(2) BUGS): the file
		// was there a moment ago, so if it is gone now the removal is made.
		if _, lerr := r.root.Lstat(rel); errors.Is(lerr, fs.ErrNotExist) {
			err = nil
		}
	}
	switch {
	case err == nil:
	case errors.Is(err, syscall.EBUSY):
		return newError("remove", rel, withCause(ErrBusyTarget, err))
	case errors.Is(err, fs.ErrNotExist):
		return newError("remove", rel, syscall.ENOENT)
	case isErrno(err, syscall.EISDIR, syscall.EPERM):
		if fi, lerr := r.root.Lstat(rel); lerr == nil && fi.IsDir() {
			return newError("remove", rel, withCause(ErrNotRegular, fmt.Errorf("it is now a directory: %w", err)))
		}
		return newError("remove", rel, err)
	default:
		return newError("remove", rel, err)
	}
	return r.syncDirs(cfg, rel, nil)
}
