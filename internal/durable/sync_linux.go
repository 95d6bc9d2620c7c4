package durable

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// SyncData flushes f's data, and of its metadata what reading the data back
// needs (its size, its blocks), with fdatasync(2). A timestamp-only change
// is left to the next journal commit; for a file rewritten in place that
// spares a journal commit.
func SyncData(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return &os.PathError{Op: "fdatasync", Path: f.Name(), Err: err}
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		for {
			serr = unix.Fdatasync(int(fd))
			if !errors.Is(serr, unix.EINTR) {
				return
			}
		}
	}); err != nil {
		return &os.PathError{Op: "fdatasync", Path: f.Name(), Err: err}
	}
	if serr != nil {
		return &os.PathError{Op: "fdatasync", Path: f.Name(), Err: serr}
	}
	return nil
}
