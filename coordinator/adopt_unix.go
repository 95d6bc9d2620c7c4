//go:build unix

package coordinator

import (
	"errors"
	"fmt"
	"os"

	"github.com/sharedwrite/sharedwrite/locking"
	"golang.org/x/sys/unix"
)

// checkAdoptedFD verifies that fd, a descriptor handed down by a parent
// process (WithAdoptedLease), is lock — the key's lock file opened here — and
// holds its file lock: flock on a descriptor that shares the holder's open
// file description succeeds, while one held through another description
// fails with EWOULDBLOCK (heldElsewhereError). So a forged SHAREDWRITE_LEASE
// never writes without the lock, nor writes a lock record into another file.
// A lock nobody holds (lock, another description, takes it) is not taken:
// the process that handed it down has released it, and this one outlived it
// (ErrLeaseLost); taken here, it would stay held for as long as any process
// keeps the inherited descriptor open.
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
	if err := flockNB(lock.Fd()); err == nil {
		_ = unix.Flock(int(lock.Fd()), unix.LOCK_UN)
		return fmt.Errorf("inherited descriptor %d: no one holds the key's lock any more (the process that handed it down released it): %w", fd, locking.ErrLeaseLost)
	}
	switch err := flockNB(fd); {
	case err == nil:
		return nil
	case errors.Is(err, unix.EWOULDBLOCK):
		return heldElsewhereError{fd}
	default:
		return fmt.Errorf("flock inherited descriptor %d: %w", fd, err)
	}
}

// flockNB tries LOCK_EX|LOCK_NB on fd (EINTR retried).
func flockNB(fd uintptr) error {
	for {
		if err := unix.Flock(int(fd), unix.LOCK_EX|unix.LOCK_NB); !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}
