//go:build !linux

package locking

import (
	"io/fs"
	"os"
)

// reuseFS is false: lock file descriptors are kept for reuse on Linux only
// (filelock_reuse.go), where the filesystem's type says it is local.
func reuseFS(*os.File) bool { return false }

func idOf(fs.FileInfo) (fileID, bool) { return fileID{}, false }

func stillNamed(*os.File, string, fileID) bool { return false }
