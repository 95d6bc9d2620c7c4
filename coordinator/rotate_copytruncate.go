package coordinator

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"syscall"

	"github.com/sharedwrite/sharedwrite/internal/quote"
	"github.com/sharedwrite/sharedwrite/locking"
	"github.com/sharedwrite/sharedwrite/writer"
)

// copyTruncateHeld rotates the held key by copying it to the rotated name and
// truncating it in place; st is its committed state. The steps: the commit
// check; for an Appender's log, the cut of what lies past the committed length
// (appendedLength); the copytruncate marker; the pending record; the copy,
// published create-only at the rotated name; the truncation; the truncation's
// mark in the marker (markTruncated). The marker comes before the pending
// record, so that a holder that finds this rotation pending completes it in
// place and never by a rename (completeCopyTruncate): the program writing the
// log keeps its descriptor. The mark tells that holder the truncation
// happened, which the content cannot: the program may have written the same
// bytes again since. A step that fails before the truncation is done
// withdraws the rotation and removes its published copy, so the live file
// still holds everything and nothing is duplicated. A mark that cannot be
// written undoes nothing (the truncation happened) and is logged: the
// rotation goes on to its committed record, and only if that is not written
// either does the next holder fall back to comparing content.
func (c *Coordinator) copyTruncateHeld(ctx context.Context, h *held, o *op, st locking.Version) (*rotation, *locking.Version, error) {
	src, err := c.root.OS().OpenFile(h.key, os.O_RDONLY|oNonblock, 0) // a FIFO put there since the check: no wait
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, wrap("open", h.key, err)
	}
	defer src.Close()
	fi, err := src.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = writer.NotRegularError(fi.Mode())
	}
	if err != nil {
		return nil, nil, wrap("stat", h.key, err)
	}
	// The file's own size: with copytruncate another program writes it. For
	// an Appender's log, its committed length (the cut below): on a network
	// or FUSE filesystem the size this host sees may lag another host's
	// appends, and a copy that ends there, followed by the truncation,
	// loses that host's acknowledged records (rotateHeld trusts the record
	// there too).
	size := fi.Size()
	n, appended := appendedLength(h.rec.Committed)
	cut := appended && (size > n || c.staleWindow > 0 && size != n)
	if appended && c.staleWindow > 0 {
		size = n
	}
	if size == 0 {
		return nil, nil, nil
	}
	// The cut below and the truncation run only after the commit check: a
	// holder that lost its lease must not cut records another holder
	// appended and acknowledged since.
	rec, err := c.checkCommit(ctx, h)
	if err != nil {
		return nil, nil, wrap("rotate check", h.key, err)
	}
	if rec.Committed.Generation != st.Generation {
		return nil, nil, wrap("rotate check", h.key, fmt.Errorf("%w: rotation generation %d on the volume; this holder expected %d",
			locking.ErrFenced, rec.Committed.Generation, st.Generation))
	}
	if cut {
		// A batch that failed, or a crashed appender's unacknowledged tail:
		// it must not reach the rotated copy (rotateHeld cuts it too). Where
		// the size seen may be stale, always, as rotateHeld: the truncation
		// also sets this host's view of the size to the committed length,
		// so that the copy reads all of it.
		if err := c.truncateLive(h.key, n, fi); err != nil {
			return nil, nil, err
		}
		size = n
	}
	v := c.newVersion(h, [32]byte{}, 0)
	v.Generation = st.Generation + 1
	rotated := rotatedName(h.key, v.Time, v.Token)
	if err := c.markCopyTruncate(rotated); err != nil {
		return nil, nil, err
	}
	if err := c.prepare(ctx, h, &v); err != nil {
		return nil, nil, c.abandonRotation(ctx, h, v, rotated, false, wrap("commit", h.key, err))
	}
	wf, err := c.root.Create(ctx, rotated, fi.Mode().Perm(), c.logWopts(ctx, o, writer.CreateOnly())...)
	if err != nil {
		return nil, nil, c.abandonRotation(ctx, h, v, rotated, false, wrap("copytruncate: create the rotated file", rotated, err))
	}
	// The copy grants what the live file grants: its mode, owner, access
	// ACL and extended attributes (a mode alone would give the owning group
	// the ACL's mask).
	wf.CopyMetaFrom(src)
	copied, err := wf.ReadFrom(io.NewSectionReader(src, 0, size))
	if err == nil && copied != size {
		// The file ended early: cut since it was measured, or this host's
		// view of it is stale. The truncation would lose the difference.
		err = fmt.Errorf("copied %d bytes, the file held %d when measured (cut since, or this host's view of it is stale): %w", copied, size, syscall.ESTALE)
	}
	if err != nil {
		wf.Abort() //nolint:errcheck // the copy error matters
		return nil, nil, c.abandonRotation(ctx, h, v, rotated, false, wrap("copytruncate: copy", h.key, err))
	}
	if err := wf.Commit(ctx); err != nil && !errors.Is(err, writer.ErrDurabilityUnconfirmed) {
		return nil, nil, c.abandonRotation(ctx, h, v, rotated, false, wrap("copytruncate: publish", rotated, err))
	}
	if err := c.truncateLive(h.key, 0, fi); errors.Is(err, errTruncatedUnsynced) {
		// The program's readers see the file cut and the program writes on
		// from there: the copy is the only copy of what the file held, so
		// the rotation goes on. A crash may bring the lines back into the
		// live file: duplicated, not lost.
		c.log.WarnContext(ctx, "copytruncate: the live file's truncation is not on disk; the rotation goes on", "key", quote.Value(h.key), "err", err)
	} else if err != nil {
		return nil, nil, c.abandonRotation(ctx, h, v, rotated, true, err)
	}
	if err := c.markTruncated(rotated); err != nil {
		c.log.WarnContext(ctx, "copytruncate: the truncation happened but is not marked; a holder that finds the rotation pending compares content", "key", quote.Value(h.key), "err", err)
	}
	h.onCommitted = func(ctx context.Context) { c.dropCommittedMarker(ctx, h, rotated) }
	return &rotation{key: h.key, rotated: rotated, gen: v.Generation}, &v, nil
}

// appendedLength returns the committed length of a log that an Appender
// writes: committed is an append's version (a token, no sha256, not a
// removal) with a length. A rotation's version (length 0) says nothing about
// who writes the file, and a whole-file write's or no record at all means a
// file that sharedwrite does not append to.
func appendedLength(committed locking.Version) (int64, bool) {
	if committed.Token == 0 || !isLogVersion(committed) || committed.Length <= 0 {
		return 0, false
	}
	return committed.Length, true
}

// abandonRotation undoes a rotation v by h that failed with err before its
// visible change (the rename, or the truncation). When published says the
// file at rotated was made (the link, or the copy: the live file still holds
// all of it), it removes that file first, but only while h's lease is held:
// another holder may have completed the rotation since, and that file is then
// the rotated log. Then it withdraws v and removes a copytruncate marker. When
// the file cannot be removed or v withdrawn, the rotation stays pending (with
// its marker) for the next holder, and the error wraps ErrOutcomeUnknown.
func (c *Coordinator) abandonRotation(ctx context.Context, h *held, v locking.Version, rotated string, published bool, err error) error {
	if published && h.lease.Err() == nil {
		if rerr := c.root.Remove(ctx, rotated); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
			return errors.Join(err, wrap("remove the rotated file", rotated,
				fmt.Errorf("%w: the rotation stays pending: %w", ErrOutcomeUnknown, rerr)))
		}
	}
	withdrawn, err := c.undoPrepare(ctx, h, v, err)
	if withdrawn {
		c.dropCopyTruncateMarker(ctx, rotated)
	}
	return err
}

// completeCopyTruncate completes the copytruncate rotation p that a holder
// left pending; rotated is its copy's name. It never renames anything over the
// live file, whose program keeps writing through its own descriptor:
//   - a marker that says the truncation happened (truncationMarked): the
//     rotation is done, whatever the live file holds (the program may have
//     written the copy's bytes again since); nothing to do;
//
// Otherwise (the holder died or failed between the truncation and its mark,
// or before the truncation) the content decides:
//   - no copy: it was never published; the rotation is withdrawn;
//   - an empty live file, or one that does not begin with the copy's content:
//     the truncation happened (and the program wrote since); nothing to do;
//   - a live file that is the copy's content exactly: the truncation did not
//     happen and nothing was written since; truncate it in place now;
//   - a live file that begins with the copy's content and holds more: the
//     program wrote after the copy; truncating now would lose that, so the
//     copy is removed and the rotation withdrawn (errRotationWithdrawn): the
//     live file still holds everything.
//
// Content is compared, not inodes (sshfs has none, NFS caches them). Left
// without the mark, the one case the content gets wrong is a program that
// wrote the copy's bytes again between the truncation and the mark.
func (c *Coordinator) completeCopyTruncate(ctx context.Context, h *held, rotated string) error {
	marked, err := c.truncationMarked(rotated)
	if err != nil {
		return err
	}
	if marked {
		c.log.InfoContext(ctx, "completed a copytruncate rotation left pending after its truncation", "key", quote.Value(h.key), "rotated", quote.Value(rotated))
		return nil
	}
	r := c.root.OS()
	lfi, err := r.Lstat(h.key)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return wrap("stat", h.key, err)
	}
	withdraw := func(why string) error {
		c.log.WarnContext(ctx, "withdrawing a copytruncate rotation left pending", "key", quote.Value(h.key), "rotated", quote.Value(rotated), "why", why)
		if err := c.withdrawPending(h); err != nil {
			return err
		}
		c.dropCopyTruncateMarker(ctx, rotated)
		return errRotationWithdrawn
	}
	rfi, err := r.Lstat(rotated)
	if errors.Is(err, fs.ErrNotExist) {
		return withdraw("its copy was never published")
	}
	if err != nil {
		return wrap("stat", rotated, err)
	}
	empty, prefix, err := c.rotatedIsPrefix(rotated, h.key)
	if err != nil || empty || !prefix {
		return err
	}
	// The live file still begins with the copy: the cut below needs the
	// commit check, as every truncation of a log does.
	if _, err := c.checkCommit(ctx, h); err != nil {
		return wrap("complete rotation check", h.key, err)
	}
	if lfi.Size() == rfi.Size() {
		if err := c.truncateLive(h.key, 0, lfi); err != nil {
			return err
		}
		c.log.InfoContext(ctx, "completed a copytruncate rotation left pending", "key", quote.Value(h.key), "rotated", quote.Value(rotated))
		return nil
	}
	if err := c.root.Remove(ctx, rotated); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return wrap("copytruncate: remove the rotated copy", rotated, err)
	}
	return withdraw("the live file grew since the copy, so its truncation would lose what was written since")
}

// copyTruncateMarker is the name of the marker that says the pending rotation
// whose rotated name is rotated is a copytruncate: .<rotated base>.sw-ct,
// hidden, next to the live file. The lock record has no spare field for the
// mode (its flags and reserved bytes must be zero), so the mode lives in this
// file, derivable from the pending record like the rotated name. The marker is
// created empty; once the live file's truncation is on disk it holds
// truncatedMark (markTruncated).
func copyTruncateMarker(rotated string) string {
	dir, base := path.Split(rotated)
	return dir + "." + base + ".sw-ct"
}

// markCopyTruncate creates the copytruncate marker of rotated, fsynced with
// its directory: it must be on disk before the rotation's pending record.
func (c *Coordinator) markCopyTruncate(rotated string) error {
	r := c.root.OS()
	name := copyTruncateMarker(rotated)
	f, err := r.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return wrap("copytruncate: create the marker", name, err)
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = syncDir(r, path.Dir(name))
	}
	if err != nil {
		r.Remove(name) //nolint:errcheck // no pending record names it yet
		return wrap("copytruncate: fsync the marker", name, err)
	}
	return nil
}

// truncatedMark is what a copytruncate marker holds once its rotation's
// truncation took place (see markTruncated).
const truncatedMark = "truncated\n"

// markTruncated writes truncatedMark into the copytruncate marker of rotated
// and fsyncs it: the live file's truncation happened. It runs only once the
// truncation took place (fsynced, or seen by readers when its fsync failed),
// so a marker with any content, even a write that a crash tore, says so. The
// marker's name is already on disk (markCopyTruncate fsynced its directory);
// a marker removed since (the rotation was completed or withdrawn by another
// holder) is not made again.
func (c *Coordinator) markTruncated(rotated string) (err error) {
	r := c.root.OS()
	name := copyTruncateMarker(rotated)
	f, err := r.OpenFile(name, os.O_WRONLY|oNofollow|oNonblock, 0)
	if err != nil {
		return wrap("copytruncate: open the marker", name, err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = wrap("copytruncate: close the marker", name, cerr)
		}
	}()
	// os.Root follows a symlink that stays in the root, O_NOFOLLOW or not.
	if err := openedIsNamedRegular(r, name, f); err != nil {
		return wrap("copytruncate: open the marker", name, err)
	}
	if _, err := f.WriteAt([]byte(truncatedMark), 0); err != nil {
		return wrap("copytruncate: mark the truncation", name, err)
	}
	if err := f.Sync(); err != nil {
		return wrap("copytruncate: fsync the marker", name, err)
	}
	return nil
}

// truncationMarked reports whether the copytruncate marker of rotated says
// that its rotation's truncation happened: it is a regular file and holds
// something (markTruncated). An empty marker says nothing: the truncation
// was not marked (it did not happen, or its holder stopped before the mark),
// or a version of sharedwrite that never marks made the marker. Neither does
// a missing marker, nor anything at its name that is not a regular file: no
// rotation made that. The marker is opened and read, not only stat'ed:
// opening revalidates what an NFS client cached of a file another host wrote.
func (c *Coordinator) truncationMarked(rotated string) (bool, error) {
	r := c.root.OS()
	name := copyTruncateMarker(rotated)
	li, err := r.Lstat(name)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, wrap("stat the copytruncate marker", name, err)
	}
	if !li.Mode().IsRegular() {
		return false, nil
	}
	f, err := r.OpenFile(name, os.O_RDONLY|oNofollow|oNonblock, 0)
	if err != nil {
		return false, wrap("open the copytruncate marker", name, err)
	}
	defer f.Close()
	// os.Root follows a symlink that stays in the root, O_NOFOLLOW or not.
	if err := openedIsNamedRegular(r, name, f); err != nil {
		return false, wrap("open the copytruncate marker", name, err)
	}
	n, err := f.Read(make([]byte, 1))
	if n > 0 {
		return true, nil
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return false, wrap("read the copytruncate marker", name, err)
	}
	return false, nil
}

// isCopyTruncate reports whether the pending rotation with the rotated name
// rotated is a copytruncate (its marker exists).
func (c *Coordinator) isCopyTruncate(rotated string) (bool, error) {
	name := copyTruncateMarker(rotated)
	_, err := c.root.OS().Lstat(name)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	default:
		return false, wrap("stat the copytruncate marker", name, err)
	}
}

// dropCommittedMarker removes the copytruncate marker of rotated once h's
// committed record, which says the rotation is done, is on disk. Until then
// the marker stays: after a crash the rotation may be pending again, and
// only the marker tells the next holder to complete it in place.
func (c *Coordinator) dropCommittedMarker(ctx context.Context, h *held, rotated string) {
	if err := h.fl.SyncRecord(); err != nil {
		c.log.WarnContext(ctx, "committed record not fsynced; the copytruncate marker is kept", "key", quote.Value(h.key), "err", err)
		return
	}
	c.dropCopyTruncateMarker(ctx, rotated)
}

// dropCopyTruncateMarker removes the copytruncate marker of rotated once its
// rotation is committed or withdrawn. A marker left behind (the removal
// failed, or a crash) is harmless: only a pending record with its rotation's
// token and time is ever checked against it.
func (c *Coordinator) dropCopyTruncateMarker(ctx context.Context, rotated string) {
	name := copyTruncateMarker(rotated)
	if err := c.root.OS().Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
		c.log.WarnContext(ctx, "copytruncate marker not removed", "marker", quote.Value(name), "err", err)
	}
}
