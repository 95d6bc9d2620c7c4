//go:build unix

package coordinator

import (
	"io/fs"
	"syscall"
)

// fileGID returns the group that owns the file fi describes.
func fileGID(fi fs.FileInfo) (int, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return int(st.Gid), true
}
