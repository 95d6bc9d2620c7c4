package writer

import (
	"context"
	"errors"
	"io/fs"
	"path"
	"strings"
	"sync"
	"time"
)

// SweepReport counts what one Sweep found and did.
type SweepReport struct {
	Scanned   int // temp files, backups and in-place markers examined
	Removed   int // orphan temps and backups removed
	Live      int // temps kept because their writer still holds the flock
	Young     int // temps kept because they are younger than their grace period
	OtherHost int // of Young: temps of other hosts kept for the longer grace
	Kept      int // temps kept because the caller said so (SweepKeep)
	Restored  int // in-place rewrites rolled back to their backup
	Completed int // in-place rewrites found complete (marker and backup removed)
	Discarded int // in-place intents that never reached the target (removed)
	Failed    int // entries that could not be handled (see the returned error)
}

// sweepSkipDir is the volume's own state directory (locks, intents), which
// holds no temps of this package and is never swept.
const sweepSkipDir = ".sharedwrite"

// DefaultOtherHostGrace is how old a temp named for another host must be
// before Sweep removes it: that host's flock cannot be seen from here on
// sshfs and most FUSE mounts, so age is the only sign that its writer is gone.
const DefaultOtherHostGrace = 24 * time.Hour

// sweepOpts holds the options only Sweep reads; see OtherHostGrace.
type sweepOpts struct {
	otherHostGrace time.Duration
	keep           func(rel string) bool                                                              // see SweepKeep
	settleWith     func(ctx context.Context, target string, settle func(context.Context) error) error // see SweepSettleWith
}

// sweepConfigs maps a config being built by Sweep to its sweep-only options,
// so OtherHostGrace can reach them; other methods never register, so the
// option is a no-op for them.
var sweepConfigs sync.Map // *config -> *sweepOpts

// Sweep removes what crashed writers left under the root, skipping the
// .sharedwrite directory and never following symlinks:
//
//   - temps of this host (by the host part of their name) that are older than
//     olderThan (by mtime) and on which no one holds a flock (Sweep tries
//     LOCK_EX|LOCK_NB; a writer holds LOCK_EX on its temp for its whole life);
//   - temps named for other hosts only when they are older than the other-host
//     grace (DefaultOtherHostGrace unless OtherHostGrace says otherwise; never
//     less than olderThan),
//     because on sshfs and FUSE mounts their writers' flocks are invisible
//     from here (a flock that is visible still protects the temp); their age
//     is the time since their last change, mtime or ctime, whichever is
//     later (a live temp with KeepMtime has the target's old mtime);
//   - PublishDir's temp symlinks, which cannot be flocked, only once older
//     than a minute as well;
//   - leftover in-place rewrites (see InPlaceIfBusy): a marker whose rewrite
//     finished is removed with its backup, one whose rewrite may be partial is
//     rolled back to the backup, and a backup without a marker (the rewrite
//     never started, or finished) is removed once older than olderThan.
//
// Sweep goes on past an entry it cannot handle; the error joins every such
// failure and the report counts them. It stops early, returning ctx's cause,
// when ctx ends. Sweep is safe to run concurrently with writers and other
// sweeps.
func (r *Root) Sweep(ctx context.Context, olderThan time.Duration, opts ...Option) (SweepReport, error) {
	cfg := &config{}
	so := &sweepOpts{otherHostGrace: DefaultOtherHostGrace}
	sweepConfigs.Store(cfg, so)
	for _, o := range opts {
		if o != nil {
			o(cfg)
		}
	}
	sweepConfigs.Delete(cfg)

	var rep SweepReport
	var errs []error
	fail := func(err error) {
		rep.Failed++
		errs = append(errs, err)
	}
	host := tempHost()
	now := time.Now()
	var markers []string
	walkErr := fs.WalkDir(r.root.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if cerr := ctx.Err(); cerr != nil {
			return newError("sweep", p, context.Cause(ctx))
		}
		if err != nil {
			if p != "." && !errors.Is(err, fs.ErrNotExist) {
				fail(newError("sweep", p, err))
			}
			return nil
		}
		if d.IsDir() {
			if p == sweepSkipDir {
				return fs.SkipDir
			}
			return nil
		}
		base := path.Base(p)
		if isInPlaceMarker(base) {
			markers = append(markers, p)
			return nil
		}
		isBackup := isInPlaceBackup(base)
		ti, isTemp := parseTempName(base)
		if !isTemp && !isBackup {
			return nil
		}
		rep.Scanned++
		info, err := d.Info()
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				fail(newError("sweep", p, err))
			}
			return nil
		}
		grace := olderThan
		if isTemp && ti.Host != host {
			// Never sooner than this host's own temps.
			grace = max(so.otherHostGrace, olderThan)
		}
		if info.Mode()&fs.ModeSymlink != 0 {
			// A PublishDir temp link cannot be flocked: only its age tells
			// an orphan from one about to be swapped in.
			grace = max(grace, symlinkTempGrace)
		}
		age := now.Sub(info.ModTime())
		if isTemp && ti.Host != host {
			age = now.Sub(lastChange(info))
		}
		if age < grace {
			rep.Young++
			if isTemp && ti.Host != host {
				rep.OtherHost++
			}
			return nil
		}
		if isTemp && so.keep != nil && so.keep(p) {
			rep.Kept++
			return nil
		}
		if isBackup {
			// A backup whose marker exists is handled with the marker.
			if _, err := r.root.Lstat(path.Join(path.Dir(p), markerOfBackup(base))); err == nil {
				return nil
			}
		}
		removed, live, err := r.removeOrphan(p, info)
		switch {
		case err != nil:
			fail(err)
		case removed:
			rep.Removed++
			cfg.emit("sweep-remove", p, now, info.Size(), nil)
		case live:
			rep.Live++
		}
		return nil
	})
	if walkErr != nil {
		errs = append(errs, walkErr)
	}
	for _, m := range markers {
		if ctx.Err() != nil {
			errs = append(errs, newError("sweep", m, context.Cause(ctx)))
			break
		}
		rep.Scanned++
		bak := path.Join(path.Dir(m), strings.TrimSuffix(path.Base(m), inPlaceMarkerSuffix)+inPlaceBackupSuffix)
		out, err := r.sweepMarker(ctx, m, bak, olderThan, now, so, cfg)
		if err != nil {
			fail(err)
			continue
		}
		switch out {
		case inPlaceRestored:
			rep.Restored++
		case inPlaceCompleted:
			rep.Completed++
		case inPlaceDiscarded:
			rep.Discarded++
		}
	}
	return rep, joinLine(errs...)
}

// sweepMarker settles the in-place marker m (its backup bak), through
// so.settleWith when it is set (see SweepSettleWith).
func (r *Root) sweepMarker(ctx context.Context, m, bak string, olderThan time.Duration, now time.Time, so *sweepOpts, cfg *config) (inPlaceOutcome, error) {
	if so.settleWith == nil {
		return r.settleMarker(ctx, m, bak, "", cfg)
	}
	data, err := r.readMarker(m)
	if errors.Is(err, fs.ErrNotExist) {
		return inPlaceNone, nil
	}
	in, derr := decodeInPlaceIntent(data)
	if err != nil || derr != nil || !in.namedBy(path.Base(m)) {
		// Names no target: torn, or being written by a rewriter whose
		// lock cannot be taken without knowing its target.
		if fi, serr := r.root.Lstat(m); serr != nil || now.Sub(fi.ModTime()) < olderThan {
			return inPlaceNone, nil
		}
		return r.settleMarker(ctx, m, bak, "", cfg)
	}
	target := path.Join(path.Dir(m), in.Target)
	var out inPlaceOutcome
	err = so.settleWith(ctx, target, func(ctx context.Context) error {
		var err error
		out, err = r.settleMarker(ctx, m, bak, target, cfg)
		return err
	})
	return out, err
}

// symlinkTempGrace is the least age at which Sweep removes a temp symlink
// (PublishDir's), whatever olderThan says: it lives from its creation to the
// swap, a moment, and no flock can show that it is in use.
const symlinkTempGrace = time.Minute

// removeOrphan removes the temp or backup at p (whose Lstat is info) unless a
// writer holds a flock on it (live). Symlinks (PublishDir's temp links) cannot
// be locked and go by age alone; other non-regular files are left alone.
func (r *Root) removeOrphan(p string, info fs.FileInfo) (removed, live bool, err error) {
	switch {
	case info.Mode()&fs.ModeSymlink != 0:
	case !info.Mode().IsRegular():
		return false, false, nil
	default:
		removed, live, err := r.removeUnlocked(p)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return false, false, nil // committed or removed meanwhile
		case err != nil:
			return false, false, newError("sweep remove", p, err)
		}
		return removed, live, nil
	}
	if err := r.root.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, false, newError("sweep remove", p, err)
	}
	return true, false, nil
}

// lastChange is when fi last changed: its mtime, or its ctime when later.
// Another host's temp is told from an orphan by its age alone (its flock is
// not seen from here), and its mtime is not its age: KeepMtime gives the temp
// the target's mtime, maybe days old, while it waits for its commit; setting
// it changes the ctime, which no caller can set back.
func lastChange(fi fs.FileInfo) time.Time {
	t := fi.ModTime()
	if c := changeTime(fi); c != 0 {
		if ct := time.Unix(0, c); ct.After(t) {
			return ct
		}
	}
	return t
}
