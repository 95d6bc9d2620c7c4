//go:build linux

package writer

import (
	"os"

	"golang.org/x/sys/unix"
)

// mountID tells mounts apart: a bind mount of a directory of the same
// filesystem has the same device but its own mount id.
type mountID struct{ dev, mnt uint64 }

// mountOf returns the mount of the open file f: statx's mount id (Linux
// 5.8), or the device alone where statx cannot say.
func mountOf(f *os.File) (mountID, error) {
	var stx unix.Statx_t
	err := unix.Statx(int(f.Fd()), "", unix.AT_EMPTY_PATH, unix.STATX_MNT_ID, &stx)
	if err == nil && stx.Mask&unix.STATX_MNT_ID != 0 {
		return mountID{dev: unix.Mkdev(stx.Dev_major, stx.Dev_minor), mnt: stx.Mnt_id}, nil
	}
	fi, err := f.Stat()
	if err != nil {
		return mountID{}, err
	}
	dev, _ := fileID(fi)
	return mountID{dev: dev}, nil
}
