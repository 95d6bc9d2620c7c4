//go:build linux

package mountinfo

import (
	"os"
	"path/filepath"
)

// Lookup returns the mount that holds path: the entry of /proc/self/mountinfo
// whose mount point is the longest prefix of path (symlinks resolved when
// path exists). It returns ErrNoMount when none is, or the error of opening
// or reading mountinfo.
func Lookup(path string) (Entry, error) {
	if abs, err := filepath.EvalSymlinks(path); err == nil {
		path = abs
	}
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return Entry{}, err
	}
	defer f.Close()
	return find(f, path)
}
