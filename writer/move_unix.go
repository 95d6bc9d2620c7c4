//go:build unix

package writer

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// renameAt renames the OS path absSrc to base inside the open directory dir
// (renameat(2) with AT_FDCWD for the source).
func renameAt(absSrc string, dir *os.File, base, _, _ string) error {
	rc, err := dir.SyscallConn()
	if err != nil {
		return err
	}
	var rerr error
	if err := rc.Control(func(fd uintptr) {
		for {
			rerr = unix.Renameat(unix.AT_FDCWD, absSrc, int(fd), base)
			if !errors.Is(rerr, unix.EINTR) {
				return
			}
		}
	}); err != nil {
		return err
	}
	return rerr
}

// changeTime returns fi's ctime in nanoseconds: unlike the mtime, no one can
// set it back, so a file rewritten with its size kept and its mtime restored
// (cp -p, rsync -t, tar x) still shows a change.
func changeTime(fi fs.FileInfo) int64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return statCtime(st)
	}
	return 0
}

// haveFileID: fileID tells files apart.
const haveFileID = true

// fileID returns fi's device and inode numbers.
func fileID(fi fs.FileInfo) (dev, ino uint64) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Dev), uint64(st.Ino)
	}
	return 0, 0
}

// sameDevice reports whether a and b are on one device (st_dev). Equal
// devices do not promise that rename works: two bind mounts of one
// filesystem share st_dev and still give EXDEV.
func sameDevice(a, b fs.FileInfo) bool {
	da, _ := fileID(a)
	db, _ := fileID(b)
	return da == db
}

// syncDirPath fsyncs the OS directory dir (the source side of a Move).
func syncDirPath(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// claimSource takes LOCK_EX|LOCK_NB on sf, the open source of a Move that
// copies, for as long as sf is open. Two Moves of one file to two
// destinations do not exclude each other by their keys: without the claim
// both copied it and committed, and the second then found the source gone.
// busy is true when another process holds a lock on it (a Move, or the
// program that writes it). Where flock is not supported, or not on a
// read-only descriptor (NFS's emulation), there is no claim.
func claimSource(sf *os.File) (busy bool, err error) {
	busy, err = tryFlock(sf)
	if flockUnsupported(err) || errors.Is(err, unix.EBADF) {
		return false, nil
	}
	return busy, err
}

// openSource opens absSrc, a Move's source, and claims it (claimSource) for
// the whole Move. opened reports whether the open succeeded: a source that
// cannot be opened (gone, a symlink) is not claimed, and the checks that
// follow say what is wrong with it; a claim refused is an error with opened
// true. (O_NONBLOCK: a FIFO at src must not block the open; it is refused
// as not a regular file later.)
func openSource(absSrc string) (sf *os.File, opened bool, err error) {
	sf, err = os.OpenFile(absSrc, os.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, false, err
	}
	busy, err := claimSource(sf)
	if err == nil && busy {
		err = fmt.Errorf("another process is moving it, or holds a lock on it; nothing moved: %w", syscall.EBUSY)
	}
	if err != nil {
		_ = sf.Close()
		return nil, true, newError("move: lock source", absSrc, err)
	}
	return sf, true, nil
}
