//go:build !linux

package cli

import "errors"

// probeFS: the filesystem type is only read on Linux.
func probeFS(dir string) fsInfo { return fsInfo{} }

func renameNoReplace(dirfd uintptr, old, new string) error {
	return errors.ErrUnsupported
}

// kernelID: the running kernel is only identified on Linux ("": the peer test
// tells the host by its name alone).
func kernelID() string { return "" }
