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
	flags := 0
	if dir {
		flags = unix.AT_REMOVEDIR
	}
	return r.inDir(dirOf(rel), func(fd int) error {
		for {
			if err := unix.Unlinkat(fd, path.Base(rel), flags); err != unix.EINTR {
				return err
			}
		}
	})
}

// inDir calls fn with a descriptor of the root's directory dir, opened
// through the root (no symlink leads it elsewhere), for the *at system calls
// os.Root has no method for.
func (r *Root) inDir(dir string, fn func(fd int) error) error {
	d, err := r.root.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	rc, err := d.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) { ferr = fn(int(fd)) }); err != nil {
		return err
	}
	return ferr
}
