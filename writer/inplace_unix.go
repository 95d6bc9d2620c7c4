//go:build unix

package writer

import (
	"context"
	"errors"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// lockFileWait takes LOCK_EX on a duplicate of f's descriptor, polling with
// LOCK_NB (a blocking flock cannot be cancelled) until it is granted or ctx
// ends. Filesystems without flock give an unlocked tempLock.
func lockFileWait(ctx context.Context, f *os.File) (tempLock, error) {
	fd, err := dupCloexec(f)
	if err != nil {
		return tempLock{fd: -1}, err
	}
	wait := time.Millisecond
	for {
		err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB)
		switch {
		case err == nil, flockUnsupported(err):
			return tempLock{fd: fd}, nil
		case errors.Is(err, unix.EWOULDBLOCK), errors.Is(err, unix.EINTR):
		default:
			_ = unix.Close(fd)
			return tempLock{fd: -1}, err
		}
		select {
		case <-ctx.Done():
			_ = unix.Close(fd)
			return tempLock{fd: -1}, context.Cause(ctx)
		case <-time.After(wait):
		}
		wait = min(wait*2, 50*time.Millisecond)
	}
}

// oNoFollow refuses to open a symlink in the final component.
const oNoFollow = unix.O_NOFOLLOW
