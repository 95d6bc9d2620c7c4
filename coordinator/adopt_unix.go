//go:build unix

package coordinator

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// checkAdoptedFD verifies that fd, a descriptor handed down by a parent
// process (WithAdoptedLease), is lock — the key's lock file opened here — and
// holds its file lock: flock on a descriptor that shares the holder's open
// file description succeeds, while one held through another description
// fails with EWOULDBLOCK. So a forged SHAREDWRITE_LEASE never writes without
// the lock, nor writes a lock record into another file. (A lock nobody held
// is taken here: that is an ordinary acquisition.)
func checkAdoptedFD(fd uintptr, lock *os.File) error {
	var got, want unix.Stat_t
	if err := unix.Fstat(int(fd), &got); err != nil {
		return fmt.Errorf("fstat inherited descriptor %d: %w", fd, err)
	}
	if err := unix.Fstat(int(lock.Fd()), &want); err != nil {
		return fmt.Errorf("fstat lock file: %w", err)
	}
	if got.Dev != want.Dev || got.Ino != want.Ino {
		return fmt.Errorf("inherited descriptor %d is not the key's lock file: %w", fd, ErrAdoptedLock)
	}
	for {
		err := unix.Flock(int(fd), unix.LOCK_EX|unix.LOCK_NB)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.EWOULDBLOCK):
			return fmt.Errorf("inherited descriptor %d does not hold the lock (another holder does): %w", fd, ErrAdoptedLock)
		default:
			return fmt.Errorf("flock inherited descriptor %d: %w", fd, err)
		}
	}
}
