package coordinator

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strconv"
	"syscall"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/quote"
	"github.com/sharedwrite/sharedwrite/locking"
	"github.com/sharedwrite/sharedwrite/writer"
)

// Rotation is what a Rotate did.
type Rotation struct {
	// Name is the rotated file (relative to the root; ".gz" when compressed),
	// "" when there was nothing to rotate (no file, or an empty one).
	Name string
	// Generation is the live file's rotation generation after the rotation.
	Generation uint64
	// Removed lists the rotated files that Keep and MaxAge removed.
	Removed []string
}

// rotation is one rotation made under a lease, for the work after it.
type rotation struct {
	key     string
	rotated string
	gen     uint64
}

// rotatedTimeFormat is the UTC time, to the nanosecond, in a rotated name.
const rotatedTimeFormat = "20060102T150405.000000000Z"

// rotatedName is NAME.<UTC time to the ns>.<token>: unique per rotation (the
// token), sortable by time, and derivable from the pending record alone, so
// that a dead rotator's rotation can be completed.
func rotatedName(key string, t time.Time, token uint64) string {
	return key + "." + t.UTC().Format(rotatedTimeFormat) + "." + strconv.FormatUint(token, 10)
}

// maxRotatedSuffix is the most a rotation adds to a log's base name: the
// copytruncate marker's "." and ".sw-ct" around NAME.<time>.<token> with a
// token of 20 digits (".gz" adds less).
const maxRotatedSuffix = 1 + 1 + len(rotatedTimeFormat) + 1 + 20 + len(".sw-ct")

// checkRotatable refuses a log whose base name leaves no room, within 255
// bytes (NAME_MAX), for the names a rotation makes: refused before anything
// is done, where the link (or the marker, or the .gz) would fail midway.
func checkRotatable(key string) error {
	if n := len(path.Base(key)); n+maxRotatedSuffix > 255 {
		return wrap("rotate", key, fmt.Errorf("%w: the log's name is %d bytes; a rotated name adds up to %d (255 at most): rotate a log named %d bytes or less: %w",
			writer.ErrInvalidName, n, maxRotatedSuffix, 255-maxRotatedSuffix, syscall.ENAMETOOLONG))
	}
	return nil
}

// Rotate rotates the log name under its lease: it creates the new, empty live
// file first (with the old one's mode and, where permitted, owner), links name
// to name.<UTC time to the ns>.<token> (an existing such name is never
// replaced), renames the new file over name (so name never disappears) and
// bumps the rotation generation in the committed record. Appenders compare
// the generation before each batch and move to the new file: no record
// reaches the rotated file after the rotation. An unacknowledged tail is
// dropped before the link. Then, without the lease: Gzip compresses the
// rotated file (temp, verified, published, and only then the plain file
// removed), and Keep and MaxAge prune old rotated files. CopyTruncate copies
// and truncates instead (see its loss window).
//
// With CopyTruncate, what is copied depends on who writes the log: for a log
// that an Appender writes (the committed record is an append's, with a
// length), only the committed length — a failed batch or an unacknowledged
// tail past it is cut first, as before the link; for any other file (a
// program's own log, with no record, a rotation's or a whole-file write's),
// the whole file as it is.
//
// A missing or empty live file is not rotated (Rotation.Name is ""). A
// rotator that dies after the rotation's pending record was written leaves a
// rotation that the next holder of the key completes (a copytruncate one in
// place: truncated, never replaced by a rename), or withdraws when its visible
// change never began. A Rotate that returns an error made no rotation: its
// pending record is withdrawn (and a published copy removed), unless the
// error wraps ErrOutcomeUnknown, which says the withdrawal failed and the next
// holder of the key may complete the rotation. An error with Rotation.Name
// set comes from the work after the rotation, which was made: the
// compression (the file stays plain, and a later gzip rotation compresses it)
// or the pruning; Close ends that work with ErrClosed. AfterContext gives
// that work a context of its own.
func (c *Coordinator) Rotate(ctx context.Context, name string, opts ...LogOption) (Rotation, error) {
	cfg := newLogConfig(opts)
	// Begun here too, for the compression and pruning after the rotation.
	ctx, done, err := c.begin(ctx)
	if err != nil {
		return Rotation{}, wrap("rotate", name, err)
	}
	defer done()
	var rot *rotation
	err = c.run(ctx, "rotate", name, func(ctx context.Context, h *held, o *op) (*locking.Version, error) {
		if err := checkRotatable(h.key); err != nil {
			return nil, err
		}
		if _, err := c.regularOrAbsent("rotate", h.key); err != nil {
			return nil, err
		}
		st, err := c.logState(ctx, h)
		if err != nil {
			return nil, err
		}
		var v *locking.Version
		if cfg.copyTruncate {
			rot, v, err = c.copyTruncateHeld(ctx, h, o, st)
		} else {
			rot, v, err = c.rotateHeld(ctx, h, o, st)
		}
		return v, err
	})
	if rot == nil || (err != nil && !errors.Is(err, writer.ErrDurabilityUnconfirmed)) {
		return Rotation{}, err
	}
	if cfg.afterCtx != nil {
		actx, adone, aerr := c.begin(cfg.afterCtx)
		if aerr != nil {
			return Rotation{Name: rot.rotated, Generation: rot.gen}, wrap("rotate", name, aerr)
		}
		defer adone()
		ctx = actx
	}
	out, perr := c.afterRotate(ctx, rot, cfg)
	// Both: the rotation's unconfirmed durability (err) is not lost behind
	// the work after it.
	return out, errors.Join(perr, err)
}

// rotateHeld rotates the held key by link + rename; st is its committed state.
func (c *Coordinator) rotateHeld(ctx context.Context, h *held, o *op, st locking.Version) (*rotation, *locking.Version, error) {
	fi, err := c.root.OS().Lstat(h.key)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, wrap("stat", h.key, err)
	}
	// The length to keep: an appended log's committed length (what lies past
	// it is an unacknowledged tail); otherwise the file as it is (a log a
	// program writes itself, also after an earlier rotation, whose version
	// says length 0).
	keep, appended := appendedLength(h.rec.Committed)
	if !appended || (c.staleWindow == 0 && fi.Size() < keep) {
		// (Shorter than committed where the size seen is the size: cut
		// outside sharedwrite, and never extended. On a network filesystem
		// the size seen may lag: the record's length is trusted there.)
		keep, appended = fi.Size(), false
	}
	if keep == 0 {
		return nil, nil, nil
	}
	// An unacknowledged tail must not reach the rotated file. The truncate
	// cuts what lies past the committed length, so it runs only after the
	// commit check: a holder that lost its lease must not cut records another
	// holder appended and acknowledged since.
	rec, err := c.checkCommit(ctx, h)
	if err != nil {
		return nil, nil, wrap("rotate check", h.key, err)
	}
	if rec.Committed.Generation != st.Generation {
		return nil, nil, wrap("rotate check", h.key, fmt.Errorf("%w: rotation generation %d on the volume; this holder expected %d",
			locking.ErrFenced, rec.Committed.Generation, st.Generation))
	}
	if appended {
		// Always, not only when the stat shows a tail: a network
		// filesystem's cached size can be stale.
		if err := c.truncateLive(h.key, keep, fi); err != nil {
			return nil, nil, err
		}
	}
	v := c.newVersion(h, [32]byte{}, 0)
	v.Generation = st.Generation + 1
	rotated := rotatedName(h.key, v.Time, v.Token)
	linked := false
	hook := writer.PreCommit(func(ctx context.Context, _ writer.Change) error {
		// Not rotated when this hook fails: no one must complete this
		// rotation later, so its pending version is withdrawn (its write may
		// have reached the record although its fsync failed).
		if err := c.prepare(ctx, h, &v); err != nil {
			_, err = c.undoPrepare(ctx, h, v, wrap("commit", h.key, err))
			return err
		}
		if err := c.linkRotated(h.key, rotated); err != nil {
			_, err = c.undoPrepare(ctx, h, v, err)
			return err
		}
		linked = true
		return nil
	})
	wf, err := c.root.Create(ctx, h.key, fi.Mode().Perm(), c.logWopts(ctx, o, hook)...)
	if err != nil {
		return nil, nil, wrap("rotate: create the new live file", h.key, err)
	}
	err = wf.Commit(ctx)
	if err != nil && !errors.Is(err, writer.ErrDurabilityUnconfirmed) {
		err = wrap("rotate", h.key, err)
		if linked {
			// The rename did not happen (the writer never reports "not
			// committed" after replacing the target), but the pending record
			// and the link did: undo both, or say that the next holder
			// completes the rotation.
			err = c.abandonRotation(ctx, h, v, rotated, true, err)
		}
		return nil, nil, err
	}
	return &rotation{key: h.key, rotated: rotated, gen: v.Generation}, &v, err
}

// completeRotation completes the rotation a dead holder left pending (p). A
// copytruncate rotation (its marker exists) is completed in place, never by a
// rename (completeCopyTruncate). A link rotation's steps were: pending record,
// then link at the rotated name, then the new live file renamed over the
// name. So:
//   - no rotated file: link it to the live file now, then replace the live
//     file with a new empty one;
//   - an empty live file: the rename happened; nothing to do;
//   - a rotated file whose content is the live file's beginning: where
//     inodes can be trusted (stale-view window 0) and the two names are two
//     files, the rotated one linked by its name alone (link count 1), the
//     rename happened and a program that reopened the log wrote the same
//     first bytes; nothing to do. Otherwise (the same file, a rotated file
//     with another name such as the live one, or no link count on this
//     system) the rename did not happen: replace the live file with a new
//     empty one;
//   - anything else is not this rotation's file, which then never began:
//     the rotation is withdrawn (errRotationWithdrawn).
//
// Content decides, and inodes only with the link count: sshfs has no
// inodes, NFS caches them, and a FUSE mount without use_ino can show two
// names of one file with two inode numbers; a link count above 1 says the
// rotated file still has another name. No append is committed after a
// pending rotation without completing it first, so the live file holds
// nothing acknowledged beyond the rotated content.
func (c *Coordinator) completeRotation(ctx context.Context, h *held, p locking.Version) error {
	r := c.root.OS()
	rotated := rotatedName(h.key, p.Time, p.Token)
	if ct, err := c.isCopyTruncate(rotated); err != nil {
		return err
	} else if ct {
		return c.completeCopyTruncate(ctx, h, rotated)
	}
	fi, err := r.Lstat(h.key)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return wrap("stat", h.key, err)
	}
	withdraw := func(why error) error {
		c.log.WarnContext(ctx, "withdrawing a dead holder's rotation that cannot be completed", "key", quote.Value(h.key), "err", why)
		if werr := c.withdrawPending(h); werr != nil {
			return errors.Join(why, werr)
		}
		return errRotationWithdrawn
	}
	if _, err := r.Lstat(rotated); errors.Is(err, fs.ErrNotExist) {
		if err := c.linkRotated(h.key, rotated); err != nil {
			return withdraw(err) // a volume without hard links, say
		}
	} else if err != nil {
		return wrap("stat", rotated, err)
	} else {
		empty, prefix, err := c.rotatedIsPrefix(rotated, h.key)
		if err != nil {
			return err
		}
		if empty {
			return nil
		}
		if !prefix {
			return withdraw(fmt.Errorf("%s exists and is not the rotated content of %s", quote.Name(rotated), quote.Name(h.key)))
		}
		if c.staleWindow == 0 {
			// Where inodes can be trusted (as in liveLog), a live file that
			// only begins as the rotated one does, and is another file than
			// a rotated file with no other name, is the new one: the rename
			// happened, and a program that reopened the log wrote the same
			// first bytes. Replacing it would lose them.
			renamed, err := c.renamedOver(h.key, rotated)
			if err != nil {
				return err
			}
			if renamed {
				return nil
			}
		}
	}
	wf, err := c.root.Create(ctx, h.key, fi.Mode().Perm(), c.logWopts(ctx, nil)...)
	if err != nil {
		return wrap("complete rotation: create the new live file", h.key, err)
	}
	if err := wf.Commit(ctx); err != nil && !errors.Is(err, writer.ErrDurabilityUnconfirmed) {
		return wrap("complete rotation", h.key, err)
	}
	c.log.InfoContext(ctx, "completed a rotation a dead holder left pending", "key", quote.Value(h.key), "rotated", quote.Value(rotated))
	return nil
}

// rotatedIsPrefix reports whether the live file is empty, and whether the
// rotated file's content is the beginning of the live file's.
func (c *Coordinator) rotatedIsPrefix(rotated, key string) (liveEmpty, prefix bool, err error) {
	rf, err := c.root.OS().Open(rotated)
	if err != nil {
		return false, false, wrap("open", rotated, err)
	}
	defer rf.Close()
	lf, err := c.root.OS().Open(key)
	if err != nil {
		return false, false, wrap("open", key, err)
	}
	defer lf.Close()
	a, b := make([]byte, 1<<16), make([]byte, 1<<16)
	for first := true; ; first = false {
		n, rerr := io.ReadFull(rf, a)
		m, lerr := io.ReadFull(lf, b[:max(n, 1)])
		if first && m == 0 && (lerr == io.EOF) {
			return true, false, nil
		}
		if rerr != nil && !errors.Is(rerr, io.EOF) && !errors.Is(rerr, io.ErrUnexpectedEOF) {
			return false, false, wrap("read", rotated, rerr)
		}
		if lerr != nil && !errors.Is(lerr, io.EOF) && !errors.Is(lerr, io.ErrUnexpectedEOF) {
			return false, false, wrap("read", key, lerr)
		}
		if n == 0 {
			return false, !first, nil // an empty rotated file is no rotation's
		}
		if m < n || !bytes.Equal(a[:n], b[:n]) {
			return false, false, nil
		}
	}
}

// errRotationWithdrawn: completeRotation withdrew the pending rotation.
var errRotationWithdrawn = errors.New("coordinator: pending rotation withdrawn")

// withdrawPending sets the held key's pending version back to its committed
// one (the floor stays at the holder's token) and fsyncs the record: a
// rotation that did not begin its visible change, or an append batch that
// failed, is not completed or promoted by the next holder.
func (c *Coordinator) withdrawPending(h *held) error {
	err := h.fl.WriteFloorPending(locking.Floor{Token: h.lease.Token(), LeaseID: h.lease.ID()}, h.rec.Committed)
	if err != nil {
		return wrap("withdraw pending", h.key, err)
	}
	h.rec.Pending = h.rec.Committed
	return nil
}

// linkRotated links the live file to its rotated name. An existing rotated
// name is never replaced: it is accepted only when it already is the live
// file (a retried link).
func (c *Coordinator) linkRotated(key, rotated string) error {
	r := c.root.OS()
	err := r.Link(key, rotated)
	if errors.Is(err, fs.ErrExist) {
		a, aerr := r.Lstat(key)
		b, berr := r.Lstat(rotated)
		if aerr == nil && berr == nil && os.SameFile(a, b) {
			return nil
		}
	}
	if err != nil {
		return wrap("link rotated", rotated, err)
	}
	return nil
}

// truncateLive truncates the live file to n and fsyncs it; src is the file
// the rotation read (copied, or measured) there. Only that file is
// truncated: a symlink put at key since (ELOOP), or another file put there
// (ESTALE: a log moved aside and created anew by another rotation tool,
// whose content was never copied), is refused (openedIsNamed). When the
// truncation took place but its fsync failed, the error wraps
// errTruncatedUnsynced: readers already see the file cut.
func (c *Coordinator) truncateLive(key string, n int64, src fs.FileInfo) error {
	r := c.root.OS()
	f, err := r.OpenFile(key, os.O_WRONLY, 0)
	if err != nil {
		return wrap("open for truncate", key, err)
	}
	defer f.Close()
	if _, err := openedIsNamed(r, key, f, src, "the rotation read"); err != nil {
		return wrap("truncate", key, fmt.Errorf("not truncated: %w", err))
	}
	if err := f.Truncate(n); err != nil {
		return wrap("truncate", key, err)
	}
	if err := f.Sync(); err != nil {
		return wrap("fsync", key, fmt.Errorf("%w: %w", errTruncatedUnsynced, err))
	}
	return nil
}

// errTruncatedUnsynced: a truncation took place, its fsync failed.
var errTruncatedUnsynced = errors.New("truncated, but the truncation is not on disk")

// errNameMoved: the name leads to another file than the one a step opened or
// read.
var errNameMoved = errors.New("the name now leads to another file than the one")

// openedIsNamed checks that f, just opened at key in r, is the file key
// names, and (want not nil) the file want describes; it returns f's
// FileInfo. os.Root follows a symlink that stays in the root even with
// O_NOFOLLOW, so the file opened must be checked against the name once it is
// open. A symlink at the name is refused with ELOOP; another file there (a
// rename over the name since: another rotation tool) wraps errNameMoved and
// ESTALE, as the file this step holds is stale for the name; what says which
// file that is ("opened", "the rotation read").
func openedIsNamed(r *os.Root, key string, f *os.File, want fs.FileInfo, what string) (fs.FileInfo, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	li, err := r.Lstat(key)
	if err != nil {
		return nil, err
	}
	switch {
	case li.Mode()&fs.ModeSymlink != 0:
		return nil, fmt.Errorf("the name leads to a symlink put there, not to the file %s: %w", what, syscall.ELOOP)
	case !os.SameFile(fi, li) || want != nil && !os.SameFile(want, fi):
		return nil, fmt.Errorf("%w %s (moved aside and replaced since): %w", errNameMoved, what, syscall.ESTALE)
	}
	return fi, nil
}

// openedIsNamedRegular is openedIsNamed for a file just opened at key that
// must also be a regular file (writer.NotRegularError otherwise).
func openedIsNamedRegular(r *os.Root, key string, f *os.File) error {
	fi, err := openedIsNamed(r, key, f, nil, "opened")
	if err == nil && !fi.Mode().IsRegular() {
		err = writer.NotRegularError(fi.Mode())
	}
	return err
}

// afterRotate compresses the rotated file (Gzip) and prunes old rotated files
// (Keep, MaxAge). It needs no lease: rotated files never change. With Gzip it
// then compresses the plain rotated files that an earlier rotator left (it
// died or was closed before compressing them).
func (c *Coordinator) afterRotate(ctx context.Context, rot *rotation, cfg logConfig) (Rotation, error) {
	out := Rotation{Name: rot.rotated, Generation: rot.gen}
	var gzErr error
	if cfg.gzip {
		gz, err := c.gzipRotated(ctx, rot.rotated)
		if err == nil {
			out.Name = gz
		}
		// Pruned all the same: a full volume is what stops a compression
		// most often, and the pruning frees space.
		gzErr = err
	}
	now := time.Now()
	removed, err := c.pruneRotated(ctx, rot.key, cfg.keep, cfg.maxAge, now)
	out.Removed = removed
	if err != nil {
		err = fmt.Errorf("prune rotated files: %w", err)
	}
	if err := errors.Join(gzErr, err); err != nil {
		return out, err
	}
	if cfg.gzip {
		if err := c.gzipLeftovers(ctx, rot.key, now); err != nil {
			return out, fmt.Errorf("compress rotated files left plain: %w", err)
		}
	}
	return out, nil
}

// leftoverAge is how long ago a plain rotated file must have been rotated to
// count as left by its rotator rather than being compressed by it now.
const leftoverAge = time.Minute

// gzipLeftovers compresses key's plain rotated files rotated more than
// leftoverAge before now. Two processes compressing the same file publish
// one .gz (gzipRotated); one pruned meanwhile is skipped.
func (c *Coordinator) gzipLeftovers(ctx context.Context, key string, now time.Time) error {
	files, err := c.listRotated(key)
	if err != nil {
		return err
	}
	var errs []error
	for _, f := range files {
		if f.Gzip || now.Sub(f.Time) < leftoverAge {
			continue
		}
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		if _, err := c.gzipRotated(ctx, f.Name); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// logWopts are the writer options of the file steps of appends and
// rotations: the coordinator's temp directory and durability policy, the step
// observer when there is an operation (o) to report to, and extra.
func (c *Coordinator) logWopts(ctx context.Context, o *op, extra ...writer.Option) []writer.Option {
	if o != nil {
		return c.wopts(ctx, o, nil, nil, extra)
	}
	opts := append([]writer.Option(nil), extra...)
	if c.cfg.tempDir != "" {
		opts = append(opts, writer.TempDir(c.cfg.tempDir))
	}
	if c.cfg.acceptUnconf {
		opts = append(opts, writer.AcceptUnconfirmedDurability(func(err error) {
			c.log.WarnContext(ctx, "committed; durability unconfirmed (directory fsync refused)", "err", err)
		}))
	}
	return opts
}

// renamedOver reports whether a link rotation's rename over key happened,
// as its inodes and link counts tell: key and rotated are two files, and
// rotated has no other name than its own. Different inode numbers alone do
// not tell: a filesystem whose inode numbers are not stable across names (a
// FUSE mount without use_ino) shows two for one file, and the live name
// still linking the rotated file leaves it 2 links or more. Without a link
// count (a system that reports none) it reports false.
func (c *Coordinator) renamedOver(key, rotated string) (bool, error) {
	r := c.root.OS()
	li, err := r.Lstat(key)
	if err != nil {
		return false, wrap("stat", key, err)
	}
	ri, err := r.Lstat(rotated)
	if err != nil {
		return false, wrap("stat", rotated, err)
	}
	n, ok := linkCount(ri)
	return ok && n == 1 && !os.SameFile(li, ri), nil
}
