//go:build darwin

package durable

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// Sync flushes f to stable storage. On macOS fsync(2) only hands the data
// to the drive, which may keep it in its cache; F_FULLFSYNC asks the drive to
// flush it (fcntl(2), "F_FULLFSYNC"). Filesystems that refuse it get fsync.
func Sync(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) {
		for {
			_, ferr = unix.FcntlInt(fd, unix.F_FULLFSYNC, 0)
			if !errors.Is(ferr, unix.EINTR) {
				return
			}
		}
	}); err != nil {
		return err
	}
	if ferr != nil && (errors.Is(ferr, unix.ENOTSUP) || errors.Is(ferr, unix.EINVAL) || errors.Is(ferr, unix.ENOTTY)) {
		return f.Sync()
	}
	if ferr != nil {
		return &os.PathError{Op: "fcntl F_FULLFSYNC", Path: f.Name(), Err: ferr}
	}
	return nil
}

// SyncData is Sync: macOS has no cheaper call that also reaches the drive.
func SyncData(f *os.File) error { return Sync(f) }
