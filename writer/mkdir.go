package writer

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"path"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/errno"
)

// MkdirAll creates the directory name inside the root, with any missing
// parents, each with perm (minus the umask), like os.MkdirAll. A directory
// that already exists, or that a concurrent caller creates at the same moment
// (EEXIST on a directory), is success.
//
// Transient failures (EINTR, EAGAIN, ETIMEDOUT, ESTALE, EBUSY; ENOSPC only with
// RetryNoSpace) are retried with exponential backoff and jitter until ctx is
// done; without a deadline on ctx the retries are bounded. EACCES, EROFS,
// ENOTDIR and EEXIST on something that is not a directory are never retried.
// A parent that vanishes under the call (ENOENT: another MkdirAll rolled back
// the directory it had created) restarts the walk from the top: that race is
// transient, not an error.
//
// On failure MkdirAll removes the directories this call created, newest first,
// and only those still empty, so the tree is left as it was unless a
// concurrent caller put something into them. A directory whose mkdir reported
// a retryable error and whose retry then found it there counts as created by
// this call: the mkdir may have happened and only its reply been lost (a soft
// NFS mount's ETIMEDOUT). It does not undo a concurrent
// caller's success: a directory that another MkdirAll saw created by this call
// (EEXIST) may be removed by this call's rollback, which that caller sees as a
// vanished parent on its next step.
//
// The directories holding the entries it created are fsynced before it
// returns; a refused fsync is an error wrapping ErrDurabilityUnconfirmed (the
// directories exist but may not survive a crash; see
// AcceptUnconfirmedDurability).
//
// Errors are *Error values naming the step ("mkdir"), the directory and the
// errno; ErrOutsideRoot and ErrInvalidName come from name resolution.
func (r *Root) MkdirAll(ctx context.Context, name string, perm fs.FileMode, opts ...Option) error {
	cfg := newConfig(opts)
	cfg.dirMode = cfg.forceMode
	rel, err := r.Resolve(name)
	if err != nil {
		return err
	}
	created, err := r.mkdirAll(ctx, rel, perm, cfg)
	if err != nil || len(created) == 0 {
		return err
	}
	// The new entries survive a crash only once their directories are
	// fsynced (see syncDirs). A directory removed meanwhile by someone else
	// (ENOENT) has no entry left to keep.
	dirs := []string{}
	for _, d := range created {
		if p := path.Dir(d); !slices.Contains(dirs, p) {
			dirs = append(dirs, p)
		}
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		start := time.Now()
		err := r.syncDir(dirs[i])
		cfg.emit("dirsync", dirs[i], start, 0, err)
		switch {
		case err == nil || errors.Is(err, fs.ErrNotExist):
		case cfg.acceptDurable && errno.IsSyncRefusal(err):
			if cfg.warn != nil {
				cfg.warn(newError("fsync directory", dirs[i], withCause(ErrDurabilityUnconfirmed, err)))
			}
		default:
			return newError("fsync directory", dirs[i], withCause(ErrDurabilityUnconfirmed, err))
		}
	}
	return nil
}

// mkdirAll creates rel and its missing parents (rel is already resolved and
// relative to the root) and returns the directories it created, oldest first,
// so that a caller that later fails (Create, WriteFile) can hand them to
// rollbackDirs. On error it has already rolled back what it created and
// returns nil.
func (r *Root) mkdirAll(ctx context.Context, rel string, perm fs.FileMode, cfg *config) ([]string, error) {
	if rel == "." || rel == "" {
		return nil, nil
	}
	parts := strings.Split(rel, "/")
	var created []string
	bo := newBackoff(ctx)
	transient := errno.IsTransient
	if cfg.retryNoSpace {
		transient = errno.IsTransientSpace
	}
	// maybeMade is the step whose last mkdir failed with a retryable error:
	// such a mkdir may have happened all the same (a soft NFS mount whose
	// reply was lost reports ETIMEDOUT), so the EEXIST of its retry does not
	// prove that the directory was there before this call.
	var maybeMade string
	for i := 0; i < len(parts); {
		dir := path.Join(parts[:i+1]...)
		if ctx.Err() != nil {
			// A cancelled call creates nothing (and what it created so far
			// is rolled back).
			return nil, r.mkdirFailed(created, dir, context.Cause(ctx), cfg)
		}
		mk := perm
		if cfg.dirMode {
			// Made with the mode it is to have (less the umask), not perm:
			// killed before its chmod, a parent keeps owner write and
			// search, so that a second call can still make the rest.
			mk = createdMode(dir == rel, cfg) & fs.ModePerm
		}
		err := r.root.Mkdir(dir, mk)
		switch {
		case err == nil:
			created = append(created, dir)
			if err := r.chmodCreated(dir, dir == rel, cfg); err != nil {
				return nil, r.mkdirFailed(created, dir, err, cfg)
			}
			i++
			maybeMade = ""
			continue
		case errors.Is(err, fs.ErrExist):
			fi, serr := r.root.Stat(dir)
			switch {
			case serr == nil && fi.IsDir():
				// It existed, or a concurrent caller made it, or our own
				// mkdir that reported a retryable error did: that one is
				// ours to roll back (only if still empty, as all are).
				if maybeMade == dir {
					created = append(created, dir)
					if err := r.chmodCreated(dir, dir == rel, cfg); err != nil {
						return nil, r.mkdirFailed(created, dir, err, cfg)
					}
				}
				i++
				maybeMade = ""
				continue
			case serr == nil:
				err = fmt.Errorf("exists and is not a directory: %w", syscall.ENOTDIR)
			case errors.Is(serr, fs.ErrNotExist) && r.isSymlink(dir):
				// Stat followed a dangling symlink: not a directory.
				err = fmt.Errorf("exists and is a dangling symlink, not a directory: %w", syscall.ENOTDIR)
			case errors.Is(serr, fs.ErrNotExist):
				// Removed between our mkdir and stat: try the step again.
				if err = bo.wait(ctx, cfg, dir, err); err == nil {
					continue
				}
			default:
				err = serr
			}
		case errors.Is(err, fs.ErrNotExist) && i > 0:
			// A parent vanished: another call rolled back a directory it
			// had created. Walk again from the top.
			if err = bo.wait(ctx, cfg, dir, err); err == nil {
				i = 0
				maybeMade = ""
				continue
			}
		case transient(err):
			maybeMade = dir
			if err = bo.wait(ctx, cfg, dir, err); err == nil {
				continue
			}
		}
		return nil, r.mkdirFailed(created, dir, err, cfg)
	}
	return created, nil
}

// isSymlink reports whether rel is a symlink (not followed).
func (r *Root) isSymlink(rel string) bool {
	fi, err := r.root.Lstat(rel)
	return err == nil && fi.Mode()&fs.ModeSymlink != 0
}

// chmodCreated gives dir, just created by MkdirAll with the Mode option,
// that mode exactly, with owner write and search added unless it is the
// last directory (see Mode).
//
// The set-group-ID bit a directory inherits from its parent (a group-shared
// volume: files made in it belong to the parent's group) is kept, as mkdir(1)
// and chmod(1) keep it: a chmod without it would clear it.
//
// The mkdir and the chmod are two steps: a process killed between them
// leaves the directory with that mode less the umask, and a later call finds
// it there and leaves it so (a process that cannot be stopped half-way sets
// its umask to 0 around the call, as the CLI's mkdir does).
func (r *Root) chmodCreated(dir string, last bool, cfg *config) error {
	if !cfg.dirMode {
		return nil
	}
	m := createdMode(last, cfg)
	fi, err := r.root.Lstat(dir)
	if err == nil && fi.Mode()&fs.ModeSetgid != 0 {
		m |= fs.ModeSetgid
	}
	if err == nil {
		err = r.root.Chmod(dir, m)
	}
	if pe := (*fs.PathError)(nil); errors.As(err, &pe) {
		err = pe.Err // the *Error names the directory
	}
	if err != nil {
		return fmt.Errorf("chmod %v: %w", m, err)
	}
	return nil
}

// createdMode is the mode the Mode option gives a directory MkdirAll
// creates: the last one exactly, its parents with owner write and search.
func createdMode(last bool, cfg *config) fs.FileMode {
	m := cfg.mode & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)
	if !last {
		m |= 0o300
	}
	return m
}

// mkdirFailed rolls back created and returns the error for the failed step.
func (r *Root) mkdirFailed(created []string, dir string, err error, cfg *config) error {
	r.rollbackDirs(created, cfg)
	return newError("mkdir", dir, err)
}

// rollbackDirs removes the directories in created (oldest first, as mkdirAll
// returns them) newest first, each only if it is still empty: a directory
// that a concurrent caller has put something into stays. Directories that are
// already gone are skipped. It reports each removal as a "rollback" event.
func (r *Root) rollbackDirs(created []string, cfg *config) {
	for i := len(created) - 1; i >= 0; i-- {
		start := time.Now()
		// unlinkat(AT_REMOVEDIR): it fails with ENOTEMPTY when something
		// was put into the directory, and with ENOTDIR when a file took its
		// place (os.Root.Remove would unlink that file).
		err := r.unlinkAt(created[i], true)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		cfg.emit("rollback", created[i], start, 0, err)
	}
}

// backoff paces the retries of one call: exponential from 1 ms to 250 ms,
// each sleep drawn uniformly from [d/2, d] so concurrent callers spread out,
// never past the ctx deadline. Without a deadline it gives up after
// maxUnboundedRetries.
type backoff struct {
	n        int
	next     time.Duration
	deadline bool
}

const maxUnboundedRetries = 40

func newBackoff(ctx context.Context) *backoff {
	_, ok := ctx.Deadline()
	return &backoff{next: time.Millisecond, deadline: ok}
}

// more reports whether another retry is allowed.
func (b *backoff) more() bool { return b.deadline || b.n < maxUnboundedRetries }

// wait sleeps before retry number n+1 of the step on path, which failed with
// cause, emitting a "retry" event. It returns cause joined with the context's
// error when ctx ends first or the deadline would pass during the sleep, and
// cause when the retry budget is spent.
func (b *backoff) wait(ctx context.Context, cfg *config, path string, cause error) error {
	if !b.more() {
		return cause
	}
	b.n++
	d := b.next/2 + rand.N(b.next/2+1)
	b.next = min(b.next*2, 250*time.Millisecond)
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < d {
		return joinLine(cause, context.DeadlineExceeded)
	}
	cfg.emit("retry", path, time.Now().Add(-d), 0, cause)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return joinLine(cause, context.Cause(ctx))
	case <-t.C:
		return nil
	}
}
