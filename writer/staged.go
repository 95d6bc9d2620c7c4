package writer

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"syscall"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/quote"
)

// RenameStaged completes a temp staged by a transaction that crashed after its
// commit point: it renames temp (an existing root-relative file) over target
// and fsyncs the directories. A missing temp is an *Error wrapping
// fs.ErrNotExist (the rename already happened, or the temp was never
// written). Outcomes as for Commit: nil, an error wrapping
// ErrDurabilityUnconfirmed (renamed, not confirmed durable), or another error
// (nothing changed). No PreCommit hook runs: the caller decided at its
// commit point. temp must be a regular file, not a symlink, and target
// must be reached without a symlink (ErrNotRegular otherwise): the names come
// from an intent on the volume, which must not make it move some other file.
func (r *Root) RenameStaged(ctx context.Context, temp, target string) error {
	if err := ctx.Err(); err != nil {
		return newError("rename staged", temp, context.Cause(ctx))
	}
	trel, tfi, err := r.resolve(temp)
	if err != nil {
		return err
	}
	if tfi == nil {
		return newError("rename staged", trel, syscall.ENOENT)
	}
	// The temp is the file of that name: a symlink there would make the
	// rename move the file it points at (named by a planted intent).
	if lfi, err := r.root.Lstat(path.Clean(temp)); err != nil {
		return newError("rename staged", temp, err)
	} else if !lfi.Mode().IsRegular() || !tfi.Mode().IsRegular() || path.Base(trel) != path.Base(temp) {
		return newError("rename staged", temp, withCause(ErrNotRegular, fmt.Errorf("it is a %s (resolves to %s)", kind(lfi.Mode()), quote.Name(trel))))
	}
	rel, _, err := r.target(target)
	if err != nil {
		return err
	}
	if rel != path.Clean(target) {
		return newError("rename staged", target, withCause(ErrNotRegular, fmt.Errorf("the target leads through a symlink to %s", quote.Name(rel))))
	}
	cfg := &config{}
	if recoverTarget != nil {
		if err := recoverTarget(ctx, r, cfg, rel); err != nil {
			return err
		}
	}
	start := time.Now()
	if err := r.root.Rename(trel, rel); err != nil {
		_, serr := r.root.Lstat(trel)
		if !errors.Is(serr, fs.ErrNotExist) {
			cfg.emit("rename", rel, start, 0, err)
			return newError2("rename", trel, rel, err)
		}
		// The temp is gone: the rename happened although it reported an error.
	}
	if d := dirOf(trel); d != dirOf(rel) {
		if err := r.syncDirs(cfg, trel, nil); err != nil {
			return err
		}
	}
	return r.syncDirs(cfg, rel, nil)
}
