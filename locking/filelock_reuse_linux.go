//go:build linux

package locking

import (
	"io/fs"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// reuseFS reports whether lock file descriptors may be kept for reuse in the
// directory dir (see filelock_reuse.go): a local filesystem, where a
// descriptor reads what a new open would.
func reuseFS(dir *os.File) bool {
	var st unix.Statfs_t
	for {
		err := unix.Fstatfs(int(dir.Fd()), &st)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return false
		}
		break
	}
	switch uint32(st.Type) {
	case unix.EXT4_SUPER_MAGIC, unix.XFS_SUPER_MAGIC, unix.BTRFS_SUPER_MAGIC, unix.TMPFS_MAGIC, unix.F2FS_SUPER_MAGIC:
		return true
	}
	return false
}

// idOf returns the device and inode fi reports.
func idOf(fi fs.FileInfo) (fileID, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileID{}, false
	}
	return fileID{dev: uint64(st.Dev), ino: st.Ino}, true
}

// stillNamed reports whether name, in the directory dir, is (without
// following a symlink) the file id, a regular file with one link: the
// checks an open of name makes (LockDir.open), in one fstatat.
func stillNamed(dir *os.File, name string, id fileID) bool {
	var st unix.Stat_t
	for {
		err := unix.Fstatat(int(dir.Fd()), name, &st, unix.AT_SYMLINK_NOFOLLOW)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return false
		}
		break
	}
	return st.Mode&unix.S_IFMT == unix.S_IFREG && st.Nlink == 1 && uint64(st.Dev) == id.dev && st.Ino == id.ino
}
