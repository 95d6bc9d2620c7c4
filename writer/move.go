package writer

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/errno"
	"github.com/sharedwrite/sharedwrite/internal/rootrel"
)

// Move moves the caller's regular file src to dst inside the root, like mv.
// src is the one name outside the root this package accepts: an absolute or
// working-directory-relative path that the caller names explicitly (a spool
// directory, say), taken as SourcePath says. dst is resolved like a write
// target (see Create); missing parent directories are created and removed
// again if nothing is committed; dst's directory removed meanwhile (by
// another call's rollback) is made again, as MkdirAll does with a parent
// that vanishes. A leftover in-place rewrite of dst, or of
// src when it is a file of the root, is settled first (see InPlaceIfBusy).
//
// Move first tries rename(2), after the PreCommit hook (Op "move"; when a hook
// is given, src is hashed first so the Change carries its sha256 and size).
// When src and dst's directory are on different devices the rename is not
// tried; when it fails with EXDEV anyway the hook runs a second time before
// the copy is committed.
// When the rename fails with EXDEV — src on another filesystem, or on another
// mount of the same one (two bind-mounted views) — it falls back to a copy
// (an "exdev-fallback" event):
//
//  1. an intent file is written beside src (.<src name>.sw-move.intent, never
//     on the shared volume: a file planted there could otherwise make a
//     replica delete a path outside it), recording src, the root, dst and
//     src's size, mtime and inode;
//  2. src is copied into a flocked temp beside dst: with copy_file_range(2)
//     where the kernel can (two mounts of one filesystem); otherwise through
//     blocks of 1 MiB (io.Copy would use 32 KiB between filesystems), read
//     and written at once by two goroutines; the write-back of the temp
//     starts, and src's clean pages leave the page cache, while the copy
//     goes on; the temp gets src's mode, owner (where permitted), times and,
//     on Linux, extended attributes with its access ACL (an ACL inherited
//     from dst's directory is dropped when src has none; see copyXattrs),
//     and is fsynced. The copy is hashed (sha256) while it is made only when
//     something needs its sha256: a PreCommit hook, or InPlaceIfBusy (by a
//     third goroutine, or by reading each copied range back);
//  3. the intent is updated to name the complete copy (by its sha256 when it
//     was hashed, otherwise by its inode and mtime, which the rename keeps),
//     and the temp is committed onto dst (PreCommit hook Op "move", rename,
//     directory fsync);
//  4. src is unlinked only if its fstat (size, mtime, ctime, inode) is unchanged
//     since the copy began; src's directory is fsynced; the intent removed.
//     Move's descriptor on src, its last reference, is closed in the
//     background (that close frees the file's blocks, which with online
//     discard can take a good part of a second per GiB): src's space may be
//     freed, and its filesystem free to unmount, a moment after Move returns.
//
// A crash at any point leaves src intact or dst complete. Calling Move again
// with the same src and dst finds the intent and completes or discards it:
// when the intent names a complete copy and dst matches src by size and
// sha256 (both hashed then), the earlier commit happened: dst's
// directory is fsynced (src stays, with its intent, while that is refused),
// the PreCommit hook runs for the move the earlier call made, and src is
// unlinked (if unchanged since the intent was written); otherwise the intent
// is discarded and the move starts over. When src is gone, the earlier move
// is reported done only when dst is the copy the intent names (its sha256,
// or its inode and mtime; and its size); otherwise an error says that nothing
// was moved. "Unchanged" is the same inode,
// size, mtime and ctime: a file rewritten at its size with its mtime put back
// (cp -p, rsync -t) still counts as changed, and is kept.
//
// The copy holds a flock on src while it runs (where the filesystem has
// flock): a second Move of src meanwhile, to another dst, is refused with
// EBUSY and moves nothing, as is a src that another program holds a lock on.
//
// The rename path checks, just before the rename by name, that src is still
// the file it fsynced (and hashed for the hook); something put at src's name
// since is not moved. A dst that is a hard link of src is refused (EINVAL).
// A FIFO at src, or at the intent's name, is refused without blocking.
//
// dst gets src's mode, as with mv, however it is moved: Mode does not apply.
//
// Outcomes are those of WriteFile: nil; an error wrapping
// ErrDurabilityUnconfirmed when dst is visible but its directory fsync was
// refused (then src is kept, with its intent, so that a crash cannot lose
// both: call Move again, or pass AcceptUnconfirmedDurability); any other
// error means dst did not change. One more: when src changed after the copy
// was committed, dst holds the copy, src is kept, and the error says so (or,
// when another process removed src meanwhile, says that).
//
// Errors: ErrNotRegular (src or dst is not a regular file), ErrOutsideRoot and
// ErrInvalidName for dst, ErrCrossDevice when a rename inside one directory
// fails with EXDEV (a faulty FUSE filesystem: nothing is committed),
// ErrBusyTarget when dst is a bind-mounted file (see InPlaceIfBusy), and
// *Error values naming the step, the path and the errno.
func (r *Root) Move(ctx context.Context, src, dst string, opts ...Option) (err error) {
	defer rethrow(&err)
	cfg := newConfig(opts)
	// dst keeps src's mode, as with mv, by rename and by copy alike: Mode
	// does not apply (the rename could not honour it without changing src).
	cfg.forceMode = false
	absSrc, err := SourcePath(src)
	if err != nil {
		return err
	}
	rel, _, err := r.target(dst)
	if err != nil {
		return err
	}
	if _, err := r.settleInPlace(ctx, rel, cfg); err != nil {
		return err
	}
	if srel, ok := r.sourceRel(absSrc); ok {
		// A source of the root whose in-place rewrite died (its marker
		// left) may be torn: it is settled first, as for any operation on
		// it, so that the restored content is moved, and no marker or
		// backup outlives it.
		if _, err := r.settleInPlace(ctx, srel, cfg); err != nil {
			return err
		}
	}
	// The source is claimed before anything is done with it or its intent:
	// a Move of it already running (copying, its intent written) is left
	// alone.
	claim, opened, err := openSource(absSrc)
	if opened && err != nil {
		return err
	}
	defer func() {
		if claim != nil {
			_ = claim.Close()
		}
	}()
	if done, err := r.resumeMove(ctx, absSrc, rel, cfg); done || err != nil {
		return err
	}
	sfi, err := os.Lstat(absSrc)
	if err != nil {
		return newError("move: stat source", absSrc, err)
	}
	if !sfi.Mode().IsRegular() {
		return newError("move: source", absSrc, NotRegularError(sfi.Mode()))
	}
	if dfi, err := r.root.Lstat(rel); err == nil && os.SameFile(dfi, sfi) {
		// rename(2) of two links to one file does nothing and succeeds.
		return newError2("move", absSrc, rel, fmt.Errorf("source and destination are the same file (hard links); nothing moved: %w", syscall.EINVAL))
	}
	// dst's directory can go between the walk that finds (or makes) it and
	// the rename into it: another call that made it, and then failed, rolls
	// it back while it is empty. That race is transient (see MkdirAll): the
	// directory is made again and the rename, with its hook, tried again.
	bo := newBackoff(ctx)
	var created []string
	for {
		created, err = r.mkdirAll(ctx, dirOf(rel), 0o777, cfg)
		if err != nil {
			return err
		}
		dfi, err := r.root.Stat(dirOf(rel))
		if err != nil {
			r.rollbackDirs(created, cfg)
			if errors.Is(err, fs.ErrNotExist) && bo.wait(ctx, cfg, dirOf(rel), err) == nil {
				continue
			}
			return newError("move: stat directory", dirOf(rel), err)
		}
		if !sameDevice(sfi, dfi) {
			break
		}
		committed, err := r.moveByRename(ctx, absSrc, rel, dfi, created, cfg)
		if !committed && errors.Is(err, errDirGone) {
			if bo.wait(ctx, cfg, dirOf(rel), err) == nil {
				continue
			}
			return err
		}
		fallback := errors.Is(err, syscall.EXDEV) || cfg.inPlace && errors.Is(err, syscall.EBUSY)
		if committed || !fallback || errors.Is(err, ErrCrossDevice) {
			return err
		}
		break
	}
	sf := claim
	claim = nil // moveByCopy closes it
	return r.moveByCopy(ctx, absSrc, rel, sf, created, cfg)
}

// sourceRel returns absSrc (as SourcePath returns it: its directory real)
// relative to the root when it is a file of the root: its directory is the
// root or a directory of it (below the root's real path, or seen through a
// bind mount of the root or of one of its directories: rootrel.Dir, which
// the coordinator's Move also decides by when it leases the source's key),
// and it is the same file as that name in the root.
func (r *Root) sourceRel(absSrc string) (string, bool) {
	dir, base := filepath.Split(absSrc)
	rootDir := r.dir
	if real, err := filepath.EvalSymlinks(r.dir); err == nil {
		rootDir = real
	}
	rd, ok := rootrel.Dir(rootDir, filepath.Clean(dir))
	if !ok {
		return "", false
	}
	rel := path.Join(filepath.ToSlash(rd), base)
	a, aerr := os.Lstat(absSrc)
	b, berr := r.root.Lstat(rel)
	if aerr != nil || berr != nil || !os.SameFile(a, b) {
		return "", false
	}
	return rel, true
}

// moveByRename renames src onto rel. An EXDEV (another mount) or, with
// InPlaceIfBusy, EBUSY is returned as is for the copy fallback; an EXDEV
// between two names in one directory is ErrCrossDevice.
func (r *Root) moveByRename(ctx context.Context, absSrc, rel string, dirInfo fs.FileInfo, created []string, cfg *config) (bool, error) {
	ch := Change{Op: "move", Name: rel}
	// One descriptor on src serves both steps before the rename: the fsync
	// (the caller may not have fsynced src, and a rename would then make a
	// name visible whose data a crash can still lose, after Move reported it
	// committed) and, when a hook wants them, the sha256 and size.
	sum, size, sfi, err := syncSource(absSrc, len(cfg.preCommit) > 0)
	if err != nil {
		r.rollbackDirs(created, cfg)
		return false, err
	}
	ch.SHA256, ch.Size = sum, size
	if err := cfg.runPreCommit(ctx, ch); err != nil {
		r.rollbackDirs(created, cfg)
		return false, err
	}
	// The rename is by name: src must still be the file fsynced and hashed
	// above. A symlink, a FIFO or another file put at its name since (while
	// the hook ran) would be moved into the root instead.
	if cur, err := os.Lstat(absSrc); err != nil || !sameVersion(sfi, cur) {
		r.rollbackDirs(created, cfg)
		return false, newError("move: source", absSrc, fmt.Errorf("replaced or changed since it was checked; nothing moved: %w", joinLine(err, syscall.EAGAIN)))
	}
	start := time.Now()
	err = renameInto(r, absSrc, rel)
	if err != nil {
		// A rename that reports an error may still have happened (a
		// retransmitted rename on a network filesystem, rename(2) BUGS).
		_, serr := os.Lstat(absSrc)
		_, derr := r.root.Lstat(rel)
		if !errors.Is(serr, fs.ErrNotExist) || derr != nil {
			cfg.emit("rename", rel, start, 0, err)
			if errors.Is(err, syscall.EXDEV) || cfg.inPlace && errors.Is(err, syscall.EBUSY) {
				if errors.Is(err, syscall.EXDEV) && r.sameDir(filepath.Dir(absSrc), dirOf(rel), dirInfo) {
					r.rollbackDirs(created, cfg)
					return false, newError2("move: rename", absSrc, rel, withCause(ErrCrossDevice, fmt.Errorf("EXDEV from a rename inside one directory (a faulty filesystem?); nothing committed: %w", err)))
				}
				return false, err // the copy fallback keeps created
			}
			r.rollbackDirs(created, cfg)
			if errors.Is(err, syscall.EBUSY) {
				return false, newError2("move: rename", absSrc, rel, withCause(ErrBusyTarget, err))
			}
			if serr == nil && errors.Is(err, fs.ErrNotExist) {
				if _, lerr := r.root.Lstat(dirOf(rel)); errors.Is(lerr, fs.ErrNotExist) {
					return false, newError2("move: rename", absSrc, rel, withCause(errDirGone, err))
				}
			}
			return false, newError2("move: rename", absSrc, rel, err)
		}
	}
	cfg.emit("rename", rel, start, ch.Size, nil)
	if dfi, err := r.root.Lstat(rel); err == nil && !os.SameFile(dfi, sfi) {
		// Swapped in at src between the check above and the rename.
		return true, newError2("move: rename", absSrc, rel, fmt.Errorf("the file renamed is not the source checked (replaced at its name just before the rename): %w", syscall.EAGAIN))
	}
	if err := r.syncDirs(cfg, rel, created); err != nil {
		return true, err
	}
	return true, syncSourceDir(cfg, "move: fsync source directory", filepath.Dir(absSrc))
}

// moveByCopy is the EXDEV fallback described at Move.
func (r *Root) moveByCopy(ctx context.Context, absSrc, rel string, sf *os.File, created []string, cfg *config) error {
	cfg.emit("exdev-fallback", rel, time.Now(), 0, nil)
	if sf == nil {
		// Not opened by Move (not possible then, or not done here).
		var (
			opened bool
			err    error
		)
		if sf, opened, err = openSource(absSrc); err == nil && sf == nil {
			sf, err = os.OpenFile(absSrc, os.O_RDONLY|oNoFollow|oNonblock, 0)
		}
		if err != nil {
			r.rollbackDirs(created, cfg)
			if opened { // the claim refused: its error names the step
				return err
			}
			return newError("move: open source", absSrc, err)
		}
	}
	closeSrc := func() { _ = sf.Close() }
	defer func() { closeSrc() }()
	st0, err := sf.Stat()
	if err != nil {
		r.rollbackDirs(created, cfg)
		return newError("move: fstat source", absSrc, err)
	}
	if !st0.Mode().IsRegular() {
		r.rollbackDirs(created, cfg)
		return newError("move: source", absSrc, NotRegularError(st0.Mode()))
	}
	// Claimed: is it still the file at that name? A Move that ended
	// meanwhile unlinked it (and released its claim).
	if cur, err := os.Lstat(absSrc); err != nil || !os.SameFile(cur, st0) {
		if err == nil {
			err = fmt.Errorf("another file is at that name now: %w", syscall.EAGAIN)
		}
		r.rollbackDirs(created, cfg)
		return newError("move: source", absSrc, fmt.Errorf("moved or replaced meanwhile; nothing moved: %w", err))
	}
	adviseSequential(sf)
	in := newMoveIntent(absSrc, r.dir, rel, st0)
	if err := writeMoveIntent(cfg, absSrc, in); err != nil {
		r.rollbackDirs(created, cfg)
		return err
	}
	t, err := r.createTemp(ctx, cfg, rel, "")
	if err != nil {
		removeMoveIntent(absSrc)
		r.rollbackDirs(created, cfg)
		return err
	}
	t.created = append(created, t.created...)
	fail := func(err error) error {
		_ = t.discard(cfg)
		removeMoveIntent(absSrc)
		return err
	}
	// The copy is hashed for a hook (the Change carries its sha256) and for
	// an in-place commit (its marker names the content by sha256); otherwise
	// the intent names the copy by its file, where the system tells files
	// apart (hashing would make the copy slower than cp where cp is bound by
	// memory, not by the disk).
	hash := len(cfg.preCommit) > 0 || cfg.inPlace || !haveFileID
	t.unhashed = !hash
	start := time.Now()
	err = copyRange(ctx, r, t, sf, hash)
	if errors.Is(err, errNoCopyRange) {
		err = copyPipelined(ctx, t, sf, hash)
	}
	cfg.emit("write", t.Name, start, t.size, err)
	if err != nil {
		return fail(err)
	}
	// The copy gets what rename would have kept: src's mode, owner, times
	// and extended attributes (its ACL), set after the chown, which clears
	// security.capability.
	mc := *cfg
	mc.keepMtime = true
	if err := r.setOwnerModeTimes(&mc, t, st0.Mode(), st0); err != nil {
		return fail(err)
	}
	if err := copyXattrs(sf, t, true, true); err != nil {
		return fail(err)
	}
	if err := r.closeTemp(&mc, t, st0, true); err != nil {
		return fail(err)
	}
	if st1, err := sf.Stat(); err != nil || !sameVersion(st0, st1) {
		return fail(newError("move: copy source", absSrc, fmt.Errorf("source changed while it was copied; nothing committed: %w", syscall.EAGAIN)))
	}
	var sum [32]byte
	size := t.size
	if hash {
		sum, size = t.sum()
		in.SHA256 = hex.EncodeToString(sum[:])
	} else if fi, err := r.root.Lstat(t.Name); err == nil && t.info != nil && os.SameFile(fi, t.info) {
		// The copy as it will be committed: t.info's fstat came before its
		// times were set.
		t.info = fi
		_, in.CopyIno = fileID(fi)
		in.CopyMtimeNs = fi.ModTime().UnixNano()
	}
	if !in.copied() {
		// The copy could not be named by its file: name it by its content.
		if err := t.hashContent(r); err != nil {
			return fail(err)
		}
		sum, size = t.sum()
		in.SHA256 = hex.EncodeToString(sum[:])
	}
	if err := writeMoveIntent(cfg, absSrc, in); err != nil {
		return fail(err)
	}
	committed, err := r.commitTemp(ctx, cfg, t, Change{Op: "move", Name: rel, Temp: t.Name, SHA256: sum, Size: size})
	if !t.gone {
		// Not committed, or committed in place (InPlaceIfBusy): the temp
		// is no longer needed either way.
		_ = t.discard(cfg)
	}
	if !committed {
		removeMoveIntent(absSrc)
		return err
	}
	if err != nil {
		// Visible but maybe not durable: keep src and the intent, so a
		// crash cannot lose both; a later Move finishes it.
		return newError2("move", absSrc, rel, fmt.Errorf("the source is kept, with its intent, and Move again finishes it: %w", err))
	}
	err = finishMove(cfg, absSrc, st0, sf)
	if err == nil {
		// src is unlinked and this descriptor is its last reference: closing
		// it frees the file's blocks, which on a volume with online discard
		// took as long as a third of the copy of 1 GiB. Nothing needs to wait
		// for that.
		closeSrc = func() { go sf.Close() }
	}
	return err
}

// errDirGone: the rename found dst's directory gone (removed since it was
// found or made; the source is still there); Move makes it again.
var errDirGone = errors.New("the destination's directory was removed meanwhile (by another call's rollback?)")

// errNoCopyRange: copy_file_range cannot copy between these files.
var errNoCopyRange = errors.New("copy_file_range not possible here")

// finishMove unlinks src when it is still the file st0 describes, fsyncs its
// directory (see syncSourceDir) and removes the intent.
func finishMove(cfg *config, absSrc string, st0 fs.FileInfo, sf *os.File) error {
	cur, err := os.Lstat(absSrc)
	var now fs.FileInfo
	if err == nil && sf != nil {
		now, err = sf.Stat()
	} else {
		now = cur
	}
	if errors.Is(err, fs.ErrNotExist) {
		removeMoveIntent(absSrc)
		return newError("move: remove source", absSrc, fmt.Errorf("destination committed, but the source was removed by another process after it was copied: %w", err))
	}
	if err != nil || !os.SameFile(cur, st0) || !sameVersion(st0, now) {
		removeMoveIntent(absSrc)
		return newError("move: remove source", absSrc, fmt.Errorf("destination committed, but the source changed after it was copied, so it was kept: %w", fs.ErrExist))
	}
	if err := os.Remove(absSrc); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return newError("move: remove source", absSrc, fmt.Errorf("destination committed, but the source could not be removed; it is kept, with its intent, and Move again finishes it: %w", err))
	}
	if err := syncSourceDir(cfg, "move: fsync source directory", filepath.Dir(absSrc)); err != nil {
		return err
	}
	removeMoveIntent(absSrc)
	return nil
}

// syncSourceDir fsyncs dir, the OS directory of Move's source; step names
// the fsync in errors and warnings. A failure is ErrDurabilityUnconfirmed. As
// for the directories inside the root (syncDirs), an EINVAL/ENOTSUP/EOPNOTSUPP
// refusal (some FUSE and CIFS mounts) is only a warning under
// AcceptUnconfirmedDurability: it returns nil and hands the error to the
// option's func.
func syncSourceDir(cfg *config, step, dir string) error {
	err := syncDirPath(dir)
	if err == nil {
		return nil
	}
	e := newError(step, dir, withCause(ErrDurabilityUnconfirmed, err))
	if cfg.acceptDurable && errno.IsSyncRefusal(err) {
		if cfg.warn != nil {
			cfg.warn(e)
		}
		return nil
	}
	return e
}

// sameVersion reports whether two fstats of one file show no change: the
// same file, size, mtime and ctime (changeTime).
func sameVersion(a, b fs.FileInfo) bool {
	return os.SameFile(a, b) && a.Size() == b.Size() && a.ModTime().Equal(b.ModTime()) && changeTime(a) == changeTime(b)
}

// sameDir reports whether the OS directory dir is the directory fi
// describes (relDir in the root), through the same mount.
func (r *Root) sameDir(dir, relDir string, fi fs.FileInfo) bool {
	di, err := os.Stat(dir)
	if err != nil || !os.SameFile(di, fi) {
		return false
	}
	// The same directory seen through another mount of it (a bind mount)
	// is not one directory for rename: EXDEV there is by design, and the
	// copy is made.
	a, err := os.Open(dir)
	if err != nil {
		return true
	}
	defer a.Close()
	b, err := r.root.Open(relDir)
	if err != nil {
		return true
	}
	defer b.Close()
	ma, aerr := mountOf(a)
	mb, berr := mountOf(b)
	return aerr != nil || berr != nil || ma == mb
}

// hashPath returns the sha256 and size of the file at the OS path p.
func hashPath(p string) ([32]byte, int64, error) {
	f, err := os.OpenFile(p, os.O_RDONLY|oNoFollow|oNonblock, 0)
	if err != nil {
		return [32]byte{}, 0, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return [32]byte{}, 0, joinLine(err, ErrNotRegular)
	}
	return copyHashing(io.Discard, f)
}

// syncSource fsyncs the data of the caller's file p (opened read-only, which
// is enough for fsync(2) on Linux and the BSDs) and, when hash is set, returns
// its sha256 and size read through the same descriptor, and its fstat (taken
// after the fsync). A file that is not regular is refused (ErrNotRegular); a
// FIFO does not block the open. Errors are *Error naming the step.
func syncSource(p string, hash bool) ([32]byte, int64, fs.FileInfo, error) {
	f, err := os.OpenFile(p, os.O_RDONLY|oNoFollow|oNonblock, 0)
	if err != nil {
		return [32]byte{}, 0, nil, newError("move: open source", p, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return [32]byte{}, 0, nil, newError("move: fstat source", p, err)
	}
	if !fi.Mode().IsRegular() {
		return [32]byte{}, 0, nil, newError("move: source", p, NotRegularError(fi.Mode()))
	}
	var sum [32]byte
	var size int64
	if hash {
		if sum, size, err = copyHashing(io.Discard, f); err != nil {
			return [32]byte{}, 0, nil, newError("move: read source", p, err)
		}
	}
	if err := syncOpened(f, func() (*os.File, error) { return os.OpenFile(p, os.O_WRONLY|oNoFollow|oNonblock, 0) }); err != nil {
		return [32]byte{}, 0, nil, newError("move: fsync source", p, err)
	}
	if fi, err = f.Stat(); err != nil {
		return [32]byte{}, 0, nil, newError("move: fstat source", p, err)
	}
	return sum, size, fi, nil
}

// hashRel returns the sha256 and size of the root-relative file rel.
func (r *Root) hashRel(rel string) ([32]byte, int64, error) {
	f, err := r.root.OpenFile(rel, os.O_RDONLY|oNoFollow, 0)
	if err != nil {
		return [32]byte{}, 0, err
	}
	defer f.Close()
	return copyHashing(io.Discard, f)
}

// renameInto renames the OS path absSrc onto the root-relative rel, through
// a handle on rel's directory opened via the root (so a symlink swapped into
// the path cannot redirect it outside the root).
func renameInto(r *Root, absSrc, rel string) error {
	d, err := r.root.Open(dirOf(rel))
	if err != nil {
		return err
	}
	defer d.Close()
	return renameAt(absSrc, d, path.Base(rel), r.dir, rel)
}

// SourcePath returns Move's source src as an absolute path to the file the
// kernel would open by that name: its directory is resolved on the file
// system, not by spelling ("lnk/../f" is f beside the directory lnk points
// to, as for open(2) and mv, not beside lnk), and its final component is
// kept as named (a symlink there is refused by Move). Refused: an empty
// name; one that can only name a directory ("f/", "d/.", "..": ErrNotRegular
// with EISDIR); one of sharedwrite's own temp, backup or marker names
// (ErrInvalidName: a writer's live temp is not to be taken from under it);
// a directory part that does not resolve (its errno, ENOENT for a missing
// one).
func SourcePath(src string) (string, error) {
	if src == "" {
		return "", newError("move: source", src, withCause(ErrInvalidName, fmt.Errorf("the name is empty: %w", syscall.ENOENT)))
	}
	if err := DirNameError(src); err != nil {
		return "", newError("move: source", src, err)
	}
	i := strings.LastIndexAny(src, "/"+string(filepath.Separator))
	dir, base := src[:i+1], src[i+1:]
	if isReservedName(base) {
		return "", newError("move: source", src, withCause(ErrInvalidName, errors.New("the name is one of sharedwrite's own temp, backup or marker names")))
	}
	if dir == "" {
		dir = "."
	}
	if !filepath.IsAbs(dir) && runtime.GOOS != "windows" {
		// Not filepath.Abs: it would clean "lnk/.." away by spelling.
		// (Windows itself resolves ".." by spelling.)
		wd, err := os.Getwd()
		if err != nil {
			return "", newError("move: source: working directory", src, err)
		}
		dir = wd + string(filepath.Separator) + dir
	}
	real, err := filepath.EvalSymlinks(dir)
	if err == nil {
		real, err = filepath.Abs(real)
	}
	if err != nil {
		return "", newError("move: resolve the source's directory", src, err)
	}
	return filepath.Join(real, base), nil
}
