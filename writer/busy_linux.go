package writer

import (
	"path"

	"golang.org/x/sys/unix"
)

// mountPoint reports whether rel (root-relative, resolved) is a mount point:
// its mount id (statx STATX_MNT_ID) differs from its directory's. ok is false
// when the kernel does not report mount ids.
func (r *Root) mountPoint(rel string) (busy, ok bool, err error) {
	d, err := r.root.Open(dirOf(rel))
	if err != nil {
		return false, false, err
	}
	defer d.Close()
	rc, err := d.SyscallConn()
	if err != nil {
		return false, false, err
	}
	var dst, fst unix.Statx_t
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = unix.Statx(int(fd), ".", unix.AT_SYMLINK_NOFOLLOW, unix.STATX_MNT_ID, &dst)
		if serr == nil {
			serr = unix.Statx(int(fd), path.Base(rel), unix.AT_SYMLINK_NOFOLLOW, unix.STATX_MNT_ID, &fst)
		}
	}); err != nil {
		return false, false, err
	}
	if serr != nil {
		return false, false, serr
	}
	if dst.Mask&unix.STATX_MNT_ID == 0 || fst.Mask&unix.STATX_MNT_ID == 0 {
		return false, false, nil
	}
	return dst.Mnt_id != fst.Mnt_id, true, nil
}
