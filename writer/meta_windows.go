//go:build windows

package writer

import (
	"io/fs"
	"time"
)

// setOwnerMode on Windows: owners are not kept (no chown); the mode only
// toggles the read-only attribute.
func setOwnerMode(t *tempFile, mode fs.FileMode, old fs.FileInfo) error {
	if mode&0o200 == 0 {
		if err := t.File.Chmod(mode); err != nil {
			return newError("chmod", t.Name, err)
		}
	}
	return nil
}

func accessTime(fi fs.FileInfo) time.Time { return fi.ModTime() }

// setTimesFd: times are set by name after the close on Windows.
func setTimesFd(*tempFile, time.Time, time.Time) error { return nil }

func setTimesName(r *Root, t *tempFile, atime, mtime time.Time) error {
	if err := r.root.Chtimes(t.Name, atime, mtime); err != nil {
		return newError("set times", t.Name, err)
	}
	return nil
}

// sameOwner: owners are not kept on Windows.
func sameOwner(a, b fs.FileInfo) bool { return true }

// resetOwnerTimes: owners are not kept and times are set only by name after
// the close on Windows, so Sync changed neither.
func resetOwnerTimes(*tempFile, fs.FileInfo, bool) error { return nil }
