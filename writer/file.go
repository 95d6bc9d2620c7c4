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

// File is a file being written by Create: the data goes to a flocked temp
// beside the target, hashed as it is written, and becomes visible only at
// Commit. A File is not safe for concurrent use.
type File struct {
	r       *Root
	cfg     *config
	t       *tempFile
	perm    fs.FileMode
	started time.Time
	err     error // sticky write error
	state   fileState
	old     fs.FileInfo // the target's Lstat at Create (nil: absent)
	fresh   bool        // old is still current at Commit (WriteFile): no second Lstat
	// synced: Sync gave the temp the metadata of syncedFor (the target's
	// Lstat then; nil: absent) and fsynced it, and nothing was written
	// since. A write clears synced, not syncedFor: the temp keeps the
	// metadata.
	synced    bool
	syncedFor fs.FileInfo
	tempInfo  fs.FileInfo // the temp's fstat before Sync gave it syncedFor's metadata
	// dirs: the directories Create made, kept after a failed Commit for
	// Abort to remove those that were not empty then.
	dirs []string
}

type fileState int

const (
	fileOpen fileState = iota
	fileCommitted
	fileAborted
)

var errFileDone = errors.New("file already committed or aborted")

// errRootClosed refuses a Create after Root.Close.
var errRootClosed = fmt.Errorf("root closed: %w", fs.ErrClosed)

// Create starts writing name: it resolves name (see Resolve; an existing
// target must be a regular file), creates missing parent directories and a
// temp file (O_EXCL, 0600, flocked) beside the target — or in TempDir — and
// returns the File to write it through. Nothing is visible until Commit; end
// every File with Commit or Abort. perm is the mode of a new file (minus the
// umask); an existing file keeps its mode and owner unless Mode is given.
// Options: PreCommit, Mode, KeepMtime, TempDir, CreateOnly,
// AcceptUnconfirmedDurability, InPlaceIfBusy, Observe.
// Errors: ErrOutsideRoot, ErrInvalidName, ErrNotRegular, ErrExist (CreateOnly
// and the target exists), or an *Error naming the step and the errno.
func (r *Root) Create(ctx context.Context, name string, perm fs.FileMode, opts ...Option) (f *File, err error) {
	if !r.addFile() {
		return nil, newError("create", name, errRootClosed)
	}
	defer func() {
		if f == nil {
			r.fileDone()
		}
	}()
	cfg := newConfig(opts)
	rel, old, err := r.target(name)
	if err != nil {
		return nil, err
	}
	if recoverTarget != nil && !cfg.beforeLock {
		if err := recoverTarget(ctx, r, cfg, rel); err != nil {
			return nil, err
		}
	}
	if cfg.createOnly && old != nil {
		return nil, newError("create", rel, withCause(ErrExist, syscall.EEXIST))
	}
	tempDir := ""
	if cfg.tempDir != "" {
		td, fi, err := r.resolve(cfg.tempDir)
		if err != nil {
			return nil, err
		}
		if fi == nil || !fi.IsDir() {
			return nil, newError("temp directory", td, syscall.ENOTDIR)
		}
		tempDir = td
	}
	t, err := r.createTemp(ctx, cfg, rel, tempDir)
	if err != nil {
		return nil, err
	}
	return &File{r: r, cfg: cfg, t: t, perm: perm, started: time.Now(), old: old}, nil
}

// Write writes p to the temp. A write error is kept: Commit returns it and
// commits nothing.
func (f *File) Write(p []byte) (int, error) {
	if f.state != fileOpen {
		return 0, newError("write", f.t.Target, errFileDone)
	}
	if f.err != nil {
		return 0, f.err
	}
	f.synced = false
	n, err := f.t.Write(p)
	if err != nil {
		f.err = err
	}
	return n, err
}

// ReadFrom copies src into the temp through a 1 MiB buffer (io.Copy would use
// 32 KiB between files of different filesystems).
func (f *File) ReadFrom(src io.Reader) (int64, error) {
	if f.state != fileOpen {
		return 0, newError("write", f.t.Target, errFileDone)
	}
	if f.err != nil {
		return 0, f.err
	}
	f.synced = false
	before := f.t.size
	err := copyInto(context.Background(), f.t, src)
	if err != nil {
		f.err = err
	}
	return f.t.size - before, err
}

// Name returns the target's canonical root-relative name.
func (f *File) Name() string { return f.t.Target }

// TempName returns the temp's root-relative name.
func (f *File) TempName() string { return f.t.Name }

// Sum returns the sha256 and size of what was written so far. After a write
// error (which Commit returns, committing nothing) they mean nothing: a large
// write's hash may cover bytes the temp does not hold.
func (f *File) Sum() (sha [32]byte, size int64) { return f.t.sum() }

// Sync makes what was written so far durable in the temp before Commit: it
// gives the temp the owner, mode and (with KeepMtime) times of the target as
// it is now, and fsyncs it. Commit then only checks that the target's
// metadata did not change meanwhile (and fixes the temp if it did) instead of
// fsyncing. A write after Sync undoes it. A Sync error is kept: Commit returns
// it and commits nothing.
func (f *File) Sync() error {
	if f.state != fileOpen {
		return newError("sync", f.t.Target, errFileDone)
	}
	if f.err != nil {
		return f.err
	}
	old, err := f.targetInfo()
	if err == nil && f.tempInfo == nil {
		if f.tempInfo, err = f.t.File.Stat(); err != nil {
			err = newError("fstat", f.t.Name, err)
		} else {
			f.t.own, err = ownXattrs(f.t)
		}
	}
	if err == nil {
		err = f.unsync(old)
	}
	if err == nil {
		err = f.r.setMeta(f.cfg, f.t, f.perm, old)
	}
	if err == nil {
		start := time.Now()
		err = f.t.File.Sync()
		f.cfg.emit("fsync", f.t.Name, start, f.t.size, err)
		if err != nil {
			err = newError("fsync", f.t.Name, err)
		}
	}
	if err != nil {
		f.err = err
		return err
	}
	f.synced, f.syncedFor = true, old
	return nil
}

// unsync makes the temp a new file again when the target whose owner and
// times an earlier Sync gave it is gone (old nil): it gets back the owner and
// group it was created with and the current times (KeepMtime), as a write
// where there is no target. Its extended attributes, setMeta makes its own
// again (restoreXattrs).
func (f *File) unsync(old fs.FileInfo) error {
	if old != nil || f.syncedFor == nil {
		return nil
	}
	return resetOwnerTimes(f.t, f.tempInfo, f.cfg.keepMtime)
}

// targetInfo is the target's Lstat now (nil: absent), checked to be a regular
// file and, under CreateOnly, absent.
func (f *File) targetInfo() (fs.FileInfo, error) {
	old, err := f.r.root.Lstat(f.t.Target)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil
	case err != nil:
		return nil, newError("stat", f.t.Target, err)
	case !old.Mode().IsRegular():
		return nil, newError("stat", f.t.Target, NotRegularError(old.Mode()))
	case f.cfg.createOnly:
		return nil, newError("create", f.t.Target, withCause(ErrExist, syscall.EEXIST))
	}
	return old, nil
}

// Commit makes what was written visible as the target: final owner, mode and
// mtime on the temp, fsync, close (its error checked), the PreCommit hooks,
// rename (CreateOnly: link, never replacing), fsync of the directory. Its
// outcome is one of three:
//   - nil: committed and durable;
//   - an error wrapping ErrDurabilityUnconfirmed: committed (visible) but the
//     directory fsync failed, so it may not survive a crash;
//   - any other error: nothing visible changed; the temp and the directories
//     Create made are removed.
//
// A cancelled ctx before the rename means not committed. Commit after Commit
// or Abort returns an error.
func (f *File) Commit(ctx context.Context) (err error) {
	defer rethrow(&err)
	if f.state != fileOpen {
		return newError("commit", f.t.Target, errFileDone)
	}
	defer f.r.fileDone()
	defer func() {
		if p := recover(); p != nil {
			// A callback of the caller's (an Observe function) panicked:
			// the temp goes as for a failed commit (already renamed, it is
			// not there any more), and the panic goes on. The clean-up
			// tells the observers nothing: they are what panicked.
			if f.state == fileOpen {
				f.state = fileAborted
				if f.cfg.keepStaged && f.t.accepted && !f.t.gone {
					// Past the caller's commit point: the temp stays
					// for RenameStaged, as after a failed commit.
					f.t.release()
					f.t.created = nil
				} else {
					f.dirs = f.t.created
					_ = f.t.discard(&config{})
				}
			}
			panic(p)
		}
	}()
	committed, err := f.commit(ctx)
	if committed {
		f.state = fileCommitted
		return err
	}
	f.state = fileAborted
	if f.cfg.keepStaged && f.t.accepted && !f.t.gone {
		// The caller's commit point has passed: the temp stays for
		// RenameStaged (closed by the commit before its hooks ran).
		f.t.release()
		f.t.created = nil
		return &Error{Op: "commit", Path: f.t.Name, Dst: f.t.Target, Err: fmt.Errorf("%w: %w", ErrStaged, err)}
	}
	f.dirs = f.t.created
	_ = f.t.discard(f.cfg)
	return err
}

func (f *File) commit(ctx context.Context) (bool, error) {
	f.cfg.emit("write", f.t.Name, f.started, f.t.size, f.err)
	if f.err != nil {
		return false, f.err
	}
	if f.cfg.beforeLock && recoverTarget != nil {
		if err := recoverTarget(ctx, f.r, f.cfg, f.t.Target); err != nil {
			return false, err
		}
	}
	// The target's owner and mode are taken at Commit, not at Create: a
	// streamed write can take long, and the target may change meanwhile.
	old, err := f.old, error(nil)
	if !f.fresh {
		old, err = f.targetInfo()
	} else if old != nil && f.cfg.createOnly {
		err = newError("create", f.t.Target, withCause(ErrExist, syscall.EEXIST))
	}
	if err != nil {
		return false, err
	}
	if f.synced && sameMeta(f.cfg, old, f.syncedFor) {
		// Sync gave the temp this metadata and fsynced it: only close it.
		if err := f.r.closeTemp(f.cfg, f.t, old, false); err != nil {
			return false, err
		}
	} else {
		if err := f.unsync(old); err != nil {
			return false, err
		}
		if err := f.r.finishTemp(f.cfg, f.t, f.perm, old); err != nil {
			return false, err
		}
	}
	if dirOf(f.t.Name) != dirOf(f.t.Target) {
		if err := f.relocate(ctx, old); err != nil {
			return false, err
		}
	}
	return f.r.commitTemp(ctx, f.cfg, f.t, Change{})
}

// relocate moves a TempDir temp beside its target, so the visible change is a
// rename inside one directory: a rename to a fresh temp name there, or, when
// TempDir is on another filesystem (EXDEV), a hashed copy into a new temp that
// must match what was written.
func (f *File) relocate(ctx context.Context, old fs.FileInfo) error {
	t := f.t
	name := path.Join(dirOf(t.Target), newTempBase(path.Base(t.Target)))
	err := f.r.root.Rename(t.Name, name)
	if err == nil {
		t.Name = name
		return nil
	}
	if !errors.Is(err, syscall.EXDEV) {
		// A rename that happened although it reported an error (a
		// retransmitted rename on NFS): the temp is under the new name now,
		// where the discard must find it.
		if _, serr := f.r.root.Lstat(t.Name); errors.Is(serr, fs.ErrNotExist) && t.info != nil {
			if fi, serr := f.r.root.Lstat(name); serr == nil && os.SameFile(fi, t.info) {
				t.Name = name
			}
		}
		return newError2("rename temp", t.Name, name, err)
	}
	start := time.Now()
	src, err := f.r.root.Open(t.Name)
	if err != nil {
		return newError("open temp", t.Name, err)
	}
	defer src.Close()
	nt, err := f.r.copyToTemp(ctx, f.cfg, src, t.Target)
	if err != nil {
		return err
	}
	nt.created, t.created = t.created, nil
	f.t = nt
	// The first temp is spare, not a rollback: no event for it (an empty
	// config observes nothing; its directories are nt's now).
	_ = t.discard(&config{})
	wantSum, wantSize := t.sum()
	if gotSum, gotSize := nt.sum(); gotSum != wantSum || gotSize != wantSize {
		return newError("copy", nt.Name, fmt.Errorf("copy of %d bytes does not match the %d bytes written", gotSize, wantSize))
	}
	if err := f.r.finishTemp(f.cfg, nt, f.perm, old); err != nil {
		return err
	}
	f.cfg.emit("exdev-fallback", nt.Name, start, nt.size, nil)
	return nil
}

// Abort discards what was written: it removes the temp and the directories
// Create made (newest first, only if empty). It is a no-op after a Commit
// that made the change visible and after a previous Abort. After a Commit
// that failed, it removes those of the directories Create made that have
// become empty since: one that held another File's temp when Commit failed
// (several Files written together, aborted newest first).
func (f *File) Abort() error {
	if f.state != fileOpen {
		if f.state == fileAborted && f.dirs != nil {
			f.r.rollbackDirs(f.dirs, f.cfg)
			f.dirs = nil
		}
		return nil
	}
	defer f.r.fileDone()
	f.state = fileAborted
	return f.t.discard(f.cfg)
}
