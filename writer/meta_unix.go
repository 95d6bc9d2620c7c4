//go:build unix

package writer

import (
	"errors"
	"io/fs"
	"syscall"
	"time"
)

// setOwnerMode gives the temp old's owner and group where permitted, then mode
// (chown clears set-id bits, so it goes first). Without the privilege to give
// the file away, the owner stays this process's user and the group is kept if
// this user is a member of it (chown(2): EPERM otherwise, ignored).
func setOwnerMode(t *tempFile, mode fs.FileMode, old fs.FileInfo) error {
	f := t.File
	cur, err := f.Stat()
	if err != nil {
		return newError("fstat", t.Name, err)
	}
	if old != nil {
		if o, ok := old.Sys().(*syscall.Stat_t); ok {
			if c, ok := cur.Sys().(*syscall.Stat_t); ok && (o.Uid != c.Uid || o.Gid != c.Gid) {
				err := f.Chown(int(o.Uid), int(o.Gid))
				if errors.Is(err, syscall.EPERM) && o.Gid != c.Gid {
					err = f.Chown(-1, int(o.Gid))
				}
				if err != nil && !errors.Is(err, syscall.EPERM) {
					return newError("chown", t.Name, err)
				}
				if cur, err = f.Stat(); err != nil {
					return newError("fstat", t.Name, err)
				}
			}
		}
	}
	t.info = cur // identity (dev, inode) for renameHappened
	if cur.Mode()&(fs.ModePerm|fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky) != mode {
		if err := f.Chmod(mode); err != nil {
			return newError("chmod", t.Name, err)
		}
	}
	return nil
}

// accessTime returns fi's access time.
func accessTime(fi fs.FileInfo) time.Time {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return time.Unix(statAtime(st))
	}
	return fi.ModTime()
}

// setTimesFd sets the temp's times through its descriptor (before the fsync).
func setTimesFd(t *tempFile, atime, mtime time.Time) error {
	rc, err := t.File.SyscallConn()
	if err != nil {
		return newError("set times", t.Name, err)
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) { ferr = setFdTimes(int(fd), atime.UnixNano(), mtime.UnixNano()) }); err != nil {
		return newError("set times", t.Name, err)
	}
	if ferr != nil {
		return newError("set times", t.Name, ferr)
	}
	return nil
}

// setTimesName has nothing left to do on unix: setTimesFd already did it.
func setTimesName(*Root, *tempFile, time.Time, time.Time) error { return nil }

// sameOwner reports whether a and b have the same owner and group.
func sameOwner(a, b fs.FileInfo) bool {
	sa, ok1 := a.Sys().(*syscall.Stat_t)
	sb, ok2 := b.Sys().(*syscall.Stat_t)
	return ok1 && ok2 && sa.Uid == sb.Uid && sa.Gid == sb.Gid
}

// resetOwnerTimes gives the temp back the owner and group it had when it was
// created (orig) and, when times were set (keepMtime), the current time.
func resetOwnerTimes(t *tempFile, orig fs.FileInfo, keepMtime bool) error {
	if o, ok := orig.Sys().(*syscall.Stat_t); ok {
		if err := t.File.Chown(int(o.Uid), int(o.Gid)); err != nil && !errors.Is(err, syscall.EPERM) {
			return newError("chown", t.Name, err)
		}
	}
	if keepMtime {
		now := time.Now()
		return setTimesFd(t, now, now)
	}
	return nil
}
