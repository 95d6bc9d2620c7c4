package writer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"syscall"
	"time"
)

// inPlaceOutcome says what settling a leftover in-place rewrite did.
type inPlaceOutcome int

const (
	inPlaceNone      inPlaceOutcome = iota // no marker
	inPlaceCompleted                       // target held the new content; marker and backup removed
	inPlaceDiscarded                       // target held the old content (or the marker was torn); removed
	inPlaceRestored                        // target rewritten from the backup
	inPlaceForeign                         // the marker is for a file not at the name (or no file is): left alone
)

// restoreInPlace settles a leftover in-place rewrite of the canonical
// root-relative name, as every operation on that name must before it reads
// or changes it: when an intent marker exists, it waits for a live rewrite
// to finish (the flock on its backup), then keeps a target that holds a whole
// version and rewrites any other from the backup; the marker and backup are
// removed. A marker for a file that is not at the name (or a name with no
// file) is left alone, and the call succeeds. Without a marker it costs one
// Lstat.
func restoreInPlace(ctx context.Context, r *Root, name string) error {
	_, err := r.settleInPlace(ctx, name, &config{})
	return err
}

// settleInPlace is restoreInPlace with the caller's options (for events).
func (r *Root) settleInPlace(ctx context.Context, rel string, cfg *config) (inPlaceOutcome, error) {
	markerRel, backupRel := inPlaceNames(rel)
	return r.settleMarker(ctx, markerRel, backupRel, rel, cfg)
}

// settleMarker settles the in-place rewrite whose marker and backup are
// markerRel and backupRel. rel is the target, or "" to take it from the
// marker (Sweep finds markers, not targets).
func (r *Root) settleMarker(ctx context.Context, markerRel, backupRel, rel string, cfg *config) (inPlaceOutcome, error) {
	for {
		if _, err := r.root.Lstat(markerRel); errors.Is(err, fs.ErrNotExist) {
			return inPlaceNone, nil
		}
		// Wait for a live rewrite: it holds LOCK_EX on the backup.
		bak, err := r.root.OpenFile(backupRel, os.O_RDWR|oNoFollow|oNonblock, 0)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return r.settleLocked(ctx, markerRel, backupRel, rel, cfg, false)
		case err != nil:
			return inPlaceNone, newError("in-place restore open backup", backupRel, err)
		}
		lk, err := lockFileWait(ctx, bak)
		if err != nil {
			bak.Close()
			return inPlaceNone, newError("in-place restore lock backup", backupRel, err)
		}
		// The rewrite waited for may have finished and removed its backup,
		// and a next one made its own marker and backup since: the lock on
		// the removed file is no lock on the live rewrite. Start again.
		if named, err := r.tempStillNamed(bak, backupRel); !named {
			lk.unlock()
			bak.Close()
			if err != nil {
				return inPlaceNone, newError("in-place restore stat backup", backupRel, err)
			}
			continue
		}
		out, err := r.settleLocked(ctx, markerRel, backupRel, rel, cfg, false)
		lk.unlock()
		bak.Close()
		return out, err
	}
}

// readMarker reads the marker markerRel (readSmall).
func (r *Root) readMarker(markerRel string) ([]byte, error) {
	return readSmall(r.root.OpenFile(markerRel, os.O_RDONLY|oNoFollow|oNonblock, 0))
}

// settleLocked does the work of settleMarker; the caller holds the backup's
// flock (or there is no backup). failed says that the rewrite itself just
// failed (its write, truncate or fsync): a target that shows the new content
// is then restored too, since that content may not be on disk, and the call
// reports nothing changed.
func (r *Root) settleLocked(ctx context.Context, markerRel, backupRel, rel string, cfg *config, failed bool) (inPlaceOutcome, error) {
	data, err := r.readMarker(markerRel)
	if errors.Is(err, fs.ErrNotExist) {
		return inPlaceNone, nil // the rewrite we waited for finished
	}
	if err != nil && !errors.Is(err, errNotSmallFile) {
		return inPlaceNone, newError("in-place restore read marker", markerRel, err)
	}
	remove := func(out inPlaceOutcome) (inPlaceOutcome, error) {
		if err := r.root.Remove(markerRel); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return inPlaceNone, newError("in-place restore remove marker", markerRel, err)
		}
		if err := r.syncDirs(cfg, markerRel, nil); err != nil {
			// The marker's removal may not survive a crash: the backup
			// stays, for the marker that could come back. The target is
			// whole either way, and the caller's own operation is not
			// held up by it (it reports its own directory fsync).
			if cfg.warn != nil {
				cfg.warn(err)
			}
			return out, nil
		}
		_ = r.root.Remove(backupRel)
		return out, nil
	}
	if err != nil {
		// Not a file a marker could be (planted): removed, never acted on.
		return remove(inPlaceDiscarded)
	}
	in, err := decodeInPlaceIntent(data)
	if err != nil {
		// Torn while being written: the target was not touched yet.
		return remove(inPlaceDiscarded)
	}
	if !in.namedBy(path.Base(markerRel)) {
		// Not a marker this package wrote for the file it is named after (a
		// planted one could point at any file in the root): never act on it.
		return remove(inPlaceDiscarded)
	}
	if rel == "" {
		rel = path.Join(dirOf(markerRel), in.Target)
	}
	dst, err := r.root.OpenFile(rel, os.O_RDWR|oNoFollow, 0)
	if errors.Is(err, fs.ErrNotExist) {
		// No file has the name (the bind mount is gone and so is the file
		// beneath it): the marker is for its own file, which may come back.
		return inPlaceForeign, nil
	}
	if err != nil {
		return inPlaceNone, newError("in-place restore open", rel, err)
	}
	defer dst.Close()
	fi, err := dst.Stat()
	if err != nil {
		return inPlaceNone, newError("in-place restore fstat", rel, err)
	}
	match := in.match(fi)
	if match == matchOther {
		// Another file has the name now (the bind mount is gone, say):
		// the marker is for the file it names, which may come back.
		return inPlaceForeign, nil
	}
	curSum, curSize, err := copyHashing(io.Discard, io.NewSectionReader(dst, 0, 1<<62))
	if err != nil {
		return inPlaceNone, newError("in-place restore read", rel, err)
	}
	switch {
	case in.isNew(curSize, curSum) && !failed:
		return remove(inPlaceCompleted)
	case in.isOld(curSize, curSum):
		return remove(inPlaceDiscarded)
	}
	if match == matchRemounted {
		// The marker's inode on another device: its file after a remount,
		// unless it is some other whole file whose inode number matches.
		mfi, err := r.root.Lstat(markerRel)
		if err != nil {
			return inPlaceNone, newError("in-place restore stat marker", markerRel, err)
		}
		if !in.mayBeTorn(curSize, fi.ModTime(), mfi.ModTime()) {
			return inPlaceForeign, nil
		}
	}
	start := time.Now()
	bak, err := r.root.OpenFile(backupRel, os.O_RDONLY|oNoFollow|oNonblock, 0)
	if err != nil {
		return inPlaceNone, newError("in-place restore open backup", backupRel, err)
	}
	defer bak.Close()
	if bfi, err := bak.Stat(); err != nil {
		return inPlaceNone, newError("in-place restore fstat backup", backupRel, err)
	} else if !bfi.Mode().IsRegular() || bfi.Size() != in.OldSize {
		// Refused by its size before a byte is read (a planted backup may
		// be huge).
		return inPlaceNone, newError("in-place restore", backupRel, fmt.Errorf("backup does not match its marker (%d bytes; want %d): %w", bfi.Size(), in.OldSize, syscall.EIO))
	}
	bSum, bSize, err := copyHashing(io.Discard, io.NewSectionReader(bak, 0, 1<<62))
	if err != nil {
		return inPlaceNone, newError("in-place restore read backup", backupRel, err)
	}
	if !in.isOld(bSize, bSum) {
		return inPlaceNone, newError("in-place restore", backupRel, fmt.Errorf("backup does not match its marker (%d bytes sha256 %x; want %d bytes %x): %w", bSize, bSum, in.OldSize, in.OldSum, syscall.EIO))
	}
	_, n, err := copyHashing(io.NewOffsetWriter(dst, 0), io.NewSectionReader(bak, 0, bSize))
	if err == nil {
		err = dst.Truncate(bSize)
	}
	if err == nil {
		err = dst.Sync()
	}
	cfg.emit("restore-inplace", rel, start, n, err)
	if err != nil {
		return inPlaceNone, newError("in-place restore write", rel, err)
	}
	return remove(inPlaceRestored)
}

// readSettled is read for a reader that could not settle rel (settleErr), or
// does not (settleErr nil: ViewInPlace): the in-place view while a marker is
// there, the file itself once it is gone. limit bounds each whole read as
// MaxReadSize does (0: none).
func (r *Root) readSettled(name, rel string, settleErr error, limit int64) (Content, error) {
	c, ok, err := r.inPlaceView(rel, limit)
	switch {
	case ok:
		return c, nil
	case err == nil:
		return r.read(name, false, limit, -1) // no marker (any more)
	case errors.Is(err, ErrTooLarge):
		return Content{}, err
	}
	// The rewrite may have finished while it was read (its backup gone).
	if m, _ := inPlaceNames(rel); !r.exists(m) {
		return r.read(name, false, limit, -1)
	}
	if settleErr == nil {
		return Content{}, err
	}
	return Content{}, settleErr
}

// exists reports whether rel can be Lstat'ed.
func (r *Root) exists(rel string) bool {
	_, err := r.root.Lstat(rel)
	return err == nil
}

// inPlaceView is what a reader without write access to rel (EACCES, EPERM,
// EROFS: it cannot settle a leftover in-place rewrite) is given while one is
// unsettled: the target when it holds a whole version (the marker's old or
// new content), else the backup, which holds the old one. ok is false when
// there is nothing to settle for rel (no marker, a torn one, one for another
// file): the target is then read as usual. limit bounds each whole read as
// MaxReadSize does (0: none).
func (r *Root) inPlaceView(rel string, limit int64) (c Content, ok bool, err error) {
	markerRel, backupRel := inPlaceNames(rel)
	data, err := r.readMarker(markerRel)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, errNotSmallFile) {
		return Content{}, false, nil
	}
	if err != nil {
		return Content{}, false, newError("in-place view read marker", markerRel, err)
	}
	in, err := decodeInPlaceIntent(data)
	if err != nil || !in.namedBy(path.Base(markerRel)) {
		return Content{}, false, nil // torn before the target was touched, or not ours
	}
	fi, err := r.root.Stat(rel)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return Content{}, false, nil // no file has the name: the marker's is elsewhere
	case err != nil:
		return Content{}, false, newError("in-place view stat", rel, err)
	}
	match := in.match(fi)
	if match == matchOther {
		return Content{}, false, nil // another file has the name now
	}
	cur, err := r.read(rel, false, limit, -1)
	if err != nil {
		return Content{}, false, err
	}
	if cur.Exists && (in.isNew(cur.Size, cur.SHA256) || in.isOld(cur.Size, cur.SHA256)) {
		return cur, true, nil
	}
	if match == matchRemounted {
		// As settleLocked decides: the marker's file after a remount only
		// when it could be a torn rewrite.
		mfi, err := r.root.Lstat(markerRel)
		if err != nil {
			return Content{}, false, newError("in-place view stat marker", markerRel, err)
		}
		if !in.mayBeTorn(cur.Size, fi.ModTime(), mfi.ModTime()) {
			return Content{}, false, nil
		}
	}
	old, err := r.read(backupRel, false, limit, -1)
	if err != nil {
		return Content{}, false, err
	}
	if !old.Exists || !in.isOld(old.Size, old.SHA256) {
		return Content{}, false, newError("in-place view", backupRel, fmt.Errorf("backup does not match its marker: %w", syscall.EIO))
	}
	old.Mode = cur.Mode
	return old, true, nil
}
