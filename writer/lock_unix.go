//go:build unix

package writer

import (
	"errors"
	"io/fs"
	"os"

	"golang.org/x/sys/unix"
)

// tempLock is the flock a writer holds on its temp, on a duplicate
// descriptor (F_DUPFD_CLOEXEC: a child process must not inherit it, or the
// temp would look alive after the writer died).
type tempLock struct{ fd int }

// lockTemp takes LOCK_EX on a duplicate of f's descriptor. Filesystems that do
// not support flock at all (ENOLCK, EOPNOTSUPP, ENOSYS) leave the temp
// unlocked; a sweeper then relies on the temp's age alone.
func lockTemp(f *os.File) (tempLock, error) {
	fd, err := dupCloexec(f)
	if err != nil {
		return tempLock{fd: -1}, err
	}
	for {
		err = unix.Flock(fd, unix.LOCK_EX)
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	if err != nil && !flockUnsupported(err) {
		_ = unix.Close(fd)
		return tempLock{fd: -1}, err
	}
	return tempLock{fd: fd}, nil
}

// dupCloexec duplicates f's descriptor with F_DUPFD_CLOEXEC; the flock is
// taken on the duplicate so that closing it drops the lock whatever f does.
func dupCloexec(f *os.File) (int, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return -1, err
	}
	fd := -1
	var derr error
	if err := rc.Control(func(s uintptr) { fd, derr = unix.FcntlInt(s, unix.F_DUPFD_CLOEXEC, 0) }); err != nil {
		return -1, err
	}
	if derr != nil {
		return -1, derr
	}
	return fd, nil
}

// flockUnsupported reports whether err from flock(2) means the filesystem
// has no flock at all (ENOLCK, EOPNOTSUPP, ENOSYS): the temp stays unlocked.
func flockUnsupported(err error) bool {
	return errors.Is(err, unix.ENOLCK) || errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.ENOSYS)
}

// unlock closes the duplicate descriptor, which drops the flock.
func (l *tempLock) unlock() {
	if l.fd >= 0 {
		_ = unix.Close(l.fd)
		l.fd = -1
	}
}

// tryLockTemp tries LOCK_EX|LOCK_NB on the temp at rel through a fresh
// descriptor (opened for writing, as NFS's flock emulation requires, or for
// reading when its mode refuses writing: a temp already given a read-only
// final mode by a writer that died before its rename): live when someone
// holds it; otherwise f holds the flock until the caller closes it.
func (r *Root) tryLockTemp(rel string) (f *os.File, live bool, err error) {
	f, err = r.root.OpenFile(rel, os.O_WRONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK, 0)
	if errors.Is(err, unix.EACCES) {
		f, err = r.root.OpenFile(rel, os.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK, 0)
	}
	if err != nil {
		return nil, false, err
	}
	live, err = tryFlock(f)
	if live || err != nil {
		f.Close()
		return nil, live, err
	}
	return f, false, nil
}

// tryFlock tries LOCK_EX|LOCK_NB on f (retried on EINTR): busy when another
// open file description holds a lock on it; f holds the flock otherwise, until
// it is closed.
func tryFlock(f *os.File) (busy bool, err error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return false, err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) {
		for {
			if ferr = unix.Flock(int(fd), unix.LOCK_EX|unix.LOCK_NB); !errors.Is(ferr, unix.EINTR) {
				return
			}
		}
	}); err != nil {
		return false, err
	}
	if errors.Is(ferr, unix.EWOULDBLOCK) {
		return true, nil
	}
	return false, ferr
}

// removeUnlocked removes the temp (or backup) rel unless its writer holds its
// flock (live): it takes the flock itself (tryLockTemp) and removes rel while
// holding it, so that a writer that opened rel just before and flocks it
// after finds its file unlinked (createTemp and the in-place backup check for
// that) instead of losing it to a removal that comes after its flock.
func (r *Root) removeUnlocked(rel string) (removed, live bool, err error) {
	f, live, err := r.tryLockTemp(rel)
	if f == nil {
		return false, live, err
	}
	defer f.Close() // releases the flock, after the removal
	if named, err := r.tempStillNamed(f, rel); !named {
		return false, false, err // removed or replaced meanwhile
	}
	if err := r.root.Remove(rel); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, false, err
	}
	return true, false, nil
}
