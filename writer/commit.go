package writer

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path"
	"syscall"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/errno"
)

// Seams for the in-place rewrite of busy targets (inplace*.go sets them from
// an init function; while nil, a busy target is ErrBusyTarget and there is
// nothing to recover).
var (
	// busyRewrite is called by commitTemp when the rename onto t.Target failed
	// with EBUSY and the caller passed InPlaceIfBusy. t is fsynced, closed and
	// still flocked, beside its target; the PreCommit hooks already ran for
	// ch (run them again with Op "inplace" just before writing in place).
	// It returns whether the target changed and the error, with commitTemp's
	// meaning, and leaves t alone: commitTemp removes it after a commit, the
	// caller discards it otherwise.
	busyRewrite func(ctx context.Context, r *Root, cfg *config, t *tempFile, ch Change) (committed bool, err error)
	// recoverTarget is called before any mutating operation on target: while
	// an in-place intent marker exists it restores the target from its backup.
	recoverTarget func(ctx context.Context, r *Root, cfg *config, target string) error
)

// commitTemp makes the temp t (fsynced and closed, flocked, in the target's
// directory) visible as t.Target: it runs the PreCommit hooks for ch, then
// renames t onto the target (or, with CreateOnly, links it: an existing
// target is never replaced), then fsyncs the target's directory and the
// parents of the directories t created. It reports one of three outcomes:
//
//   - committed=false, err!=nil: nothing visible changed; t is untouched and
//     the caller must discard it. EEXIST under CreateOnly is ErrExist, EXDEV
//     is ErrCrossDevice, EBUSY is ErrBusyTarget (unless InPlaceIfBusy).
//   - committed=true, err==nil: the change is visible and durable.
//   - committed=true, err wraps ErrDurabilityUnconfirmed: visible, but the
//     directory fsync failed (with AcceptUnconfirmedDurability and an
//     EINVAL/ENOTSUP refusal, err is nil and the warning goes to its func).
//
// A rename or link that reports an error is checked against the filesystem
// (temp gone, or target is the temp's inode): one that happened anyway (a
// retransmitted NFS rename, see rename(2) BUGS) is committed. After a commit
// t's name is gone and its flock released.
func (r *Root) commitTemp(ctx context.Context, cfg *config, t *tempFile, ch Change) (committed bool, err error) {
	if ch.Name == "" {
		ch.Name = t.Target
	}
	if ch.Temp == "" {
		ch.Temp = t.Name
	}
	if ch.Op == "" {
		ch.Op = "replace"
		if cfg.createOnly {
			ch.Op = "create"
		}
	}
	if ch.Size == 0 && ch.SHA256 == ([32]byte{}) {
		ch.SHA256, ch.Size = t.sum()
	}
	if err := cfg.runPreCommit(ctx, ch); err != nil {
		return false, err
	}
	t.accepted = true
	start := time.Now()
	step := "rename"
	if cfg.createOnly {
		step = "link"
		err = r.linkNoReplace(t.Name, t.Target)
	} else {
		err = r.root.Rename(t.Name, t.Target)
	}
	if err != nil && !r.renameHappened(t, cfg.createOnly) {
		cfg.emit("rename", t.Target, start, 0, err)
		switch {
		case cfg.createOnly && errors.Is(err, fs.ErrExist):
			return false, newError2(step, t.Name, t.Target, withCause(ErrExist, err))
		case errors.Is(err, syscall.EXDEV):
			return false, newError2(step, t.Name, t.Target, withCause(ErrCrossDevice, err))
		case errors.Is(err, syscall.EBUSY):
			if cfg.inPlace && busyRewrite != nil {
				committed, err := busyRewrite(ctx, r, cfg, t, ch)
				if committed {
					// The target holds the content; the temp is spare.
					_ = r.root.Remove(t.Name)
					t.gone = true
					t.release()
					t.created = nil
				}
				return committed, err
			}
			return false, newError2(step, t.Name, t.Target, withCause(ErrBusyTarget, err))
		}
		return false, newError2(step, t.Name, t.Target, err)
	}
	cfg.emit("rename", t.Target, start, ch.Size, nil)
	if cfg.createOnly {
		// The target is a second link to the temp's inode: drop the temp's name.
		_ = r.root.Remove(t.Name)
	}
	t.gone = true
	t.release()
	created := t.created
	t.created = nil
	return true, r.syncDirs(cfg, t.Target, created)
}

// renameHappened decides, after a rename/link of t reported an error, whether
// it took effect: for a rename the temp's name is gone and the target is the
// temp (its inode, or where inodes are not stable, as on sshfs, its size and
// sha256, or for a copy not hashed its size and mtime, src's to the
// nanosecond: a temp removed by someone else before the rename leaves the old
// target, which is not committed); for a link the target is the temp's inode.
func (r *Root) renameHappened(t *tempFile, link bool) bool {
	fi, err := r.root.Lstat(t.Target)
	if err != nil || !fi.Mode().IsRegular() {
		return false
	}
	if t.info != nil && os.SameFile(fi, t.info) {
		return true
	}
	if link {
		return false
	}
	if _, err := r.root.Lstat(t.Name); !errors.Is(err, fs.ErrNotExist) {
		return false
	}
	sum, size := t.sum()
	if fi.Size() != size {
		return false
	}
	if t.unhashed {
		return t.info != nil && fi.ModTime().Equal(t.info.ModTime())
	}
	hsum, hsize, err := r.hashRel(t.Target)
	return err == nil && hsize == size && hsum == sum
}

// linkNoReplace publishes temp as target without ever replacing an existing
// target: link(2), or renameat2(RENAME_NOREPLACE) where the filesystem has no
// hard links. EEXIST means someone else created target first.
func (r *Root) linkNoReplace(temp, target string) error {
	err := r.root.Link(temp, target)
	if err == nil || errors.Is(err, fs.ErrExist) {
		return err
	}
	if isErrno(err, syscall.EPERM, syscall.ENOTSUP, syscall.EOPNOTSUPP, syscall.ENOSYS, syscall.EMLINK) {
		if rerr := r.renameNoReplace(temp, target); !errors.Is(rerr, errNoRenameNoReplace) {
			return rerr
		}
	}
	return err
}

// errNoRenameNoReplace: the platform has no RENAME_NOREPLACE.
var errNoRenameNoReplace = errors.New("writer: RENAME_NOREPLACE not available")

// syncDirsBefore is syncDirs of target's directory before the visible
// change (an in-place rewrite's marker): a refusal is an error of its own,
// not ErrDurabilityUnconfirmed, which says that the change is visible.
func (r *Root) syncDirsBefore(cfg *config, target string) error {
	err := r.syncDirs(cfg, target, nil)
	var e *Error
	var en syscall.Errno
	if errors.As(err, &e) && errors.As(err, &en) {
		return newError(e.Op, e.Path, en)
	}
	return err
}

// syncDirs fsyncs the directory of target and the parents of the directories
// a call created (so the new entries survive a crash: fsync(2) "does not
// necessarily ensure that the entry in the directory containing the file has
// also reached disk. For that an explicit fsync() on a file descriptor for the
// directory is also needed."). A failure maps to ErrDurabilityUnconfirmed; an
// EINVAL/ENOTSUP refusal is only a warning under AcceptUnconfirmedDurability.
func (r *Root) syncDirs(cfg *config, target string, created []string) error {
	dirs := []string{dirOf(target)}
	for _, d := range created {
		if p := path.Dir(d); p != dirs[0] {
			dirs = append(dirs, p)
		}
	}
	for _, d := range dirs {
		start := time.Now()
		err := r.syncDir(d)
		cfg.emit("dirsync", d, start, 0, err)
		if err == nil {
			continue
		}
		e := newError("fsync directory", d, withCause(ErrDurabilityUnconfirmed, err))
		if cfg.acceptDurable && errno.IsSyncRefusal(err) {
			if cfg.warn != nil {
				cfg.warn(e)
			}
			continue
		}
		return e
	}
	return nil
}
