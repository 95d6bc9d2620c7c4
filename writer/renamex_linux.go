//go:build linux

package writer

import (
	"path"

	"golang.org/x/sys/unix"
)

// renameNoReplace renames temp to target with renameat2(RENAME_NOREPLACE),
// through a descriptor of their common directory opened via the root (both
// must be in one directory). EEXIST means target exists.
func (r *Root) renameNoReplace(temp, target string) error {
	dir := path.Dir(temp)
	if path.Dir(target) != dir {
		return unix.EXDEV
	}
	d, err := r.root.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	rc, err := d.SyscallConn()
	if err != nil {
		return err
	}
	var rerr error
	if err := rc.Control(func(fd uintptr) {
		rerr = unix.Renameat2(int(fd), path.Base(temp), int(fd), path.Base(target), unix.RENAME_NOREPLACE)
	}); err != nil {
		return err
	}
	return rerr
}
