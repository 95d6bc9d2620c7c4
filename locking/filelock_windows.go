//go:build windows

package locking

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"golang.org/x/sys/windows"
)

var errWouldBlock = windows.ERROR_LOCK_VIOLATION

// The lock covers one byte far past the record, so that the record itself is
// never a locked region (Windows locks are mandatory for reads and writes).
func lockRange() *windows.Overlapped {
	return &windows.Overlapped{Offset: 0xFFFFFFFE, OffsetHigh: 0x7FFFFFFF}
}

func tryLock(f *os.File) error {
	err := windows.LockFileEx(windows.Handle(f.Fd()),
		windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, lockRange())
	if errors.Is(err, windows.ERROR_IO_PENDING) {
		return errWouldBlock
	}
	return err
}

func unlock(f *os.File) error {
	return windows.UnlockFileEx(windows.Handle(f.Fd()), 0, 1, 0, lockRange())
}

func setInheritable(f *os.File, on bool) error {
	var flags uint32
	if on {
		flags = windows.HANDLE_FLAG_INHERIT
	}
	return windows.SetHandleInformation(windows.Handle(f.Fd()), windows.HANDLE_FLAG_INHERIT, flags)
}

// openLockFile opens through os.Root, which on Windows refuses every symlink
// or junction on the path (O_NOFOLLOW_ANY). With create false a missing
// file is an error wrapping fs.ErrNotExist.
func openLockFile(d *LockDir, name string, perm fs.FileMode, create bool) (*os.File, error) {
	if _, err := d.locksDir(create); err != nil {
		return nil, err
	}
	flag := os.O_RDWR
	if create {
		flag |= os.O_CREATE
	}
	return d.root.OpenFile(LocksDir+"/"+name, flag, perm)
}

// openLockFileReadOnly opens name as openLockFile does, read-only, and never
// creates it.
func openLockFileReadOnly(d *LockDir, name string) (*os.File, error) {
	return d.root.OpenFile(LocksDir+"/"+name, os.O_RDONLY, 0)
}

func fileGID(fs.FileInfo) (int, bool) { return 0, false }

// checkInheritedFd checks, without taking ownership of it, that the handle
// is a disk file.
func checkInheritedFd(fd uintptr) error {
	t, err := windows.GetFileType(windows.Handle(fd))
	if err != nil {
		return err
	}
	if t != windows.FILE_TYPE_DISK {
		return fmt.Errorf("handle %#x is not a disk file (type %d)", fd, t)
	}
	return nil
}

// linkCount is 0 (unknown) on Windows: os.Stat does not report it.
func linkCount(fs.FileInfo) uint64 { return 0 }

// isNamed reports whether f is the file name in the locks directory d: the
// check of a turn's holder that its file was not removed while it waited.
func isNamed(d *LockDir, name string, f *os.File) (bool, error) {
	cur, err := d.root.Lstat(LocksDir + "/" + name)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	fi, err := f.Stat()
	if err != nil {
		return false, err
	}
	return os.SameFile(fi, cur), nil
}

// syncDir does nothing: Windows flushes no directory through a handle
// opened for reading, and NTFS journals the file's name.
func (d *LockDir) syncDir() error { return nil }

// removeLockFile removes name from the locks directory.
func removeLockFile(d *LockDir, name string) error {
	return d.root.Remove(LocksDir + "/" + name)
}
