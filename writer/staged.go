package writer

import (
	"context"
	"errors"
	"io/fs"
	"syscall"
	"time"
)

// RenameStaged completes a temp staged by a transaction that crashed after its
// commit point: it renames temp (an existing root-relative file) over target
// and fsyncs the directories. A missing temp is an *Error wrapping
// fs.ErrNotExist (the rename already happened, or the temp was never
// written). Outcomes as for Commit: nil, an error wrapping
// ErrDurabilityUnconfirmed (renamed, not confirmed durable), or another error
// (nothing changed). No PreCommit hook runs: the caller decided at its
// commit point.
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
	if !tfi.Mode().IsRegular() {
		return newError("rename staged", trel, ErrNotRegular)
	}
	rel, _, err := r.target(target)
	if err != nil {
		return err
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
