//go:build !linux

package cli

import "errors"

// probeFS: the filesystem type is only read on Linux.
func probeFS(dir string) fsInfo { return fsInfo{} }

func renameNoReplace(dirfd uintptr, old, new string) error {
	return errors.ErrUnsupported
}
