//go:build windows

package writer

import "syscall"

// unlinkAt removes rel: a non-directory (dir false) or an empty directory
// (dir true), never the other kind (checked just before the removal; Windows
// has no unlinkat(2) to do both in one step).
func (r *Root) unlinkAt(rel string, dir bool) error {
	fi, err := r.root.Lstat(rel)
	switch {
	case err != nil:
		return err
	case fi.IsDir() && !dir:
		return syscall.EISDIR
	case !fi.IsDir() && dir:
		return syscall.ENOTDIR
	}
	return r.root.Remove(rel)
}
