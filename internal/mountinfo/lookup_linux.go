//go:build linux

package mountinfo

import (
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// Lookup returns the mount that holds path: the entry of /proc/self/mountinfo
// whose mount point is the longest prefix of path (symlinks resolved when
// path exists) among those of path's device, or of all when none is of it
// (see find). It returns ErrNoMount when none is, or the error of opening
// or reading mountinfo.
func Lookup(path string) (Entry, error) {
	if abs, err := filepath.EvalSymlinks(path); err == nil {
		path = abs
	}
	var dev string
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err == nil {
		dev = fmt.Sprintf("%d:%d", unix.Major(uint64(st.Dev)), unix.Minor(uint64(st.Dev)))
	}
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return Entry{}, err
	}
	defer f.Close()
	return find(f, path, dev)
}
