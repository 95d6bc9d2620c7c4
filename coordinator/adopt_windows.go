//go:build windows

package coordinator

import (
	"fmt"
	"os"

	"golang.org/x/sys/windows"
)

// checkAdoptedFD verifies that the handle fd handed down by a parent process
// (WithAdoptedLease) is lock — the key's lock file opened here. Windows byte
// range locks are not re-entrant, so whether the handle holds the lock cannot
// be probed without disturbing it; only the file's identity is checked.
func checkAdoptedFD(fd uintptr, lock *os.File) error {
	var got, want windows.ByHandleFileInformation
	if err := windows.GetFileInformationByHandle(windows.Handle(fd), &got); err != nil {
		return fmt.Errorf("inspect inherited handle: %w", err)
	}
	if err := windows.GetFileInformationByHandle(windows.Handle(lock.Fd()), &want); err != nil {
		return fmt.Errorf("inspect lock file: %w", err)
	}
	if got.VolumeSerialNumber != want.VolumeSerialNumber || got.FileIndexHigh != want.FileIndexHigh || got.FileIndexLow != want.FileIndexLow {
		return fmt.Errorf("inherited handle is not the key's lock file: %w", ErrAdoptedLock)
	}
	return nil
}
