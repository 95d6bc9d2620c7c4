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
	return r.renameat2(temp, target, unix.RENAME_NOREPLACE)
}

// renameExchange swaps temp and target (both must exist) with
// renameat2(RENAME_EXCHANGE), in one step: afterwards temp names what target
// named. A filesystem without it refuses with EINVAL.
func (r *Root) renameExchange(temp, target string) error {
	return r.renameat2(temp, target, unix.RENAME_EXCHANGE)
}

// renameat2 is renameat2(2) with flags for two names of one directory of the
// root.
func (r *Root) renameat2(temp, target string, flags uint) error {
	dir := path.Dir(temp)
	if path.Dir(target) != dir {
		return unix.EXDEV
	}
	return r.inDir(dir, func(fd int) error {
		return unix.Renameat2(fd, path.Base(temp), fd, path.Base(target), flags)
	})
}
