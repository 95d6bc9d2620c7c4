//go:build unix

package coordinator

import (
	"io/fs"
	"syscall"
)

// linkCount returns the number of names (hard links) of the file fi
// describes, and whether the system reports it.
func linkCount(fi fs.FileInfo) (uint64, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return uint64(st.Nlink), true //nolint:unconvert // uint16 or uint32 on some systems
}
