//go:build unix

package writer

import (
	"path"

	"golang.org/x/sys/unix"
)

// unlinkAt removes rel with unlinkat(2) through a descriptor of its
// directory opened via the root: a non-directory (dir false: a directory in
// its place is refused, EISDIR or EPERM) or an empty directory (dir true:
// anything else is refused, ENOTDIR). Unlike os.Root.Remove, which tries
// both, it never removes the other kind: a file put where a directory was
// (or the reverse) stays.
func (r *Root) unlinkAt(rel string, dir bool) error {
	d, err := r.root.Open(dirOf(rel))
	if err != nil {
		return err
	}
	defer d.Close()
	rc, err := d.SyscallConn()
	if err != nil {
		return err
	}
	flags := 0
	if dir {
		flags = unix.AT_REMOVEDIR
	}
	var uerr error
	if err := rc.Control(func(fd uintptr) {
		for {
			if uerr = unix.Unlinkat(int(fd), path.Base(rel), flags); uerr != unix.EINTR {
				return
			}
		}
	}); err != nil {
		return err
	}
	return uerr
}
