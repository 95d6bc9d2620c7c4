//go:build unix

package cli

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// tryFlock takes an exclusive flock on f without waiting. held reports that
// another open file description holds it.
func tryFlock(f *os.File) (held bool, err error) {
	for {
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	if errors.Is(err, unix.EWOULDBLOCK) {
		return true, nil
	}
	return false, err
}

func unflock(f *os.File) error { return unix.Flock(int(f.Fd()), unix.LOCK_UN) }

// fileDevice returns the device a file lives on.
func fileDevice(fi os.FileInfo) (uint64, bool) {
	st, ok := fi.Sys().(*unix.Stat_t)
	if !ok {
		return 0, false
	}
	return uint64(st.Dev), true
}
