package writer

import (
	"errors"
	"io/fs"
	"syscall"
)

// Busy reports whether name is a mount point — a file bind-mounted onto it
// (docker -v file:file, a Kubernetes subPath) — which a rename cannot replace
// (EBUSY). A missing name is not busy. Where the system does not tell mount
// points apart (outside Linux, or a kernel without statx mount ids) it
// reports false: the rename's EBUSY is then the first sign.
func (r *Root) Busy(name string) (bool, error) {
	rel, fi, err := r.target(name)
	if err != nil {
		return false, err
	}
	if fi == nil {
		return false, nil
	}
	busy, _, err := r.mountPoint(rel)
	switch {
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ENOENT):
		return false, nil
	case errors.Is(err, syscall.ENOSYS), errors.Is(err, syscall.EPERM), errors.Is(err, syscall.EINVAL),
		errors.Is(err, syscall.EACCES), errors.Is(err, syscall.ENOTSUP):
		// statx missing or refused (an old kernel, a seccomp profile), or a
		// directory that cannot be opened for reading: cannot tell.
		return false, nil
	}
	if err != nil {
		return false, newError("statx", rel, err)
	}
	return busy, nil
}
