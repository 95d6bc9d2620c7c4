//go:build unix

package locking

import (
	"fmt"
	"io/fs"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

var errWouldBlock = unix.EWOULDBLOCK

func tryLock(f *os.File) error {
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err != unix.EINTR {
			return err
		}
	}
}

func unlock(f *os.File) error { return unix.Flock(int(f.Fd()), unix.LOCK_UN) }

func setInheritable(f *os.File, on bool) error {
	flag := unix.FD_CLOEXEC
	if on {
		flag = 0
	}
	_, err := unix.FcntlInt(f.Fd(), unix.F_SETFD, flag)
	return err
}

// openLockFile opens name in the locks directory with openat(2) and
// O_NOFOLLOW: a symlink at the final component is refused (ELOOP), wherever it
// points. A file it creates gets perm exactly (fchmod, past the umask). With
// create false a missing file is ENOENT.
func openLockFile(d *LockDir, name string, perm fs.FileMode, create bool) (*os.File, error) {
	return openLockFileFlags(d, name, perm, create, unix.O_RDWR)
}

// openLockFileReadOnly opens name as openLockFile does, read-only, and never
// creates it.
func openLockFileReadOnly(d *LockDir, name string) (*os.File, error) {
	return openLockFileFlags(d, name, 0, false, unix.O_RDONLY)
}

func openLockFileFlags(d *LockDir, name string, perm fs.FileMode, create bool, access int) (*os.File, error) {
	dir, err := d.locksDir(create)
	if err != nil {
		return nil, err
	}
	dirfd := int(dir.Fd())
	flags := access | unix.O_NOFOLLOW | unix.O_CLOEXEC | unix.O_NONBLOCK
	// The file exists but for a key's first lock: open it first, create it
	// (exclusively, to know whether to set its mode) only when missing.
	var fd int
	created := false
	for attempt := 0; ; attempt++ {
		fd, err = openat(dirfd, name, flags, 0)
		if err == unix.ENOENT && create {
			fd, err = openat(dirfd, name, flags|unix.O_CREAT|unix.O_EXCL, uint32(perm))
			created = err == nil
			// Created by another process since, and maybe removed again
			// (a turn file is removed by its holder): open it anew.
			if err == unix.EEXIST && attempt < 100 {
				continue
			}
		}
		break
	}
	if err != nil {
		return nil, err
	}
	// O_NONBLOCK only guards the open against a planted FIFO; clear it (no
	// other status flag was set, so F_SETFL 0 needs no F_GETFL first).
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETFL, 0); err != nil {
		unix.Close(fd)
		return nil, err
	}
	if created {
		if err := unix.Fchmod(fd, uint32(perm)); err != nil {
			unix.Close(fd)
			return nil, err
		}
	}
	return os.NewFile(uintptr(fd), LocksDir+"/"+name), nil
}

func openat(dirfd int, name string, flags int, perm uint32) (int, error) {
	for {
		fd, err := unix.Openat(dirfd, name, flags, perm)
		if err != unix.EINTR {
			return fd, err
		}
	}
}

func fileGID(fi fs.FileInfo) (int, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return int(st.Gid), true
}

// checkInheritedFd checks, without taking ownership of it, that fd is an open
// regular file.
func checkInheritedFd(fd uintptr) error {
	var st unix.Stat_t
	if err := unix.Fstat(int(fd), &st); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return fmt.Errorf("descriptor %d is not a regular file (mode %#o)", fd, st.Mode&unix.S_IFMT)
	}
	return nil
}

// linkCount returns the number of hard links of fi (0 when unknown).
func linkCount(fi fs.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Nlink)
	}
	return 0
}

// isNamed reports whether f is the file name in the locks directory d
// opened (not the directory now at its path): the check of a turn's holder
// that its file was not removed while it waited.
func isNamed(d *LockDir, name string, f *os.File) (bool, error) {
	dir, err := d.locksDir(false)
	if err != nil {
		return false, err
	}
	var at, st unix.Stat_t
	for {
		err := unix.Fstatat(int(dir.Fd()), name, &at, unix.AT_SYMLINK_NOFOLLOW)
		if err == unix.EINTR {
			continue
		}
		if err == unix.ENOENT {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		break
	}
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return false, err
	}
	return at.Dev == st.Dev && at.Ino == st.Ino, nil
}

// syncDir fsyncs the locks directory d opened.
func (d *LockDir) syncDir() error {
	dir, err := d.locksDir(false)
	if err != nil {
		return err
	}
	return dir.Sync()
}

// removeLockFile removes name from the locks directory d opened.
func removeLockFile(d *LockDir, name string) error {
	dir, err := d.locksDir(false)
	if err != nil {
		return err
	}
	return unix.Unlinkat(int(dir.Fd()), name, 0)
}
