//go:build !linux

package writer

import (
	"io/fs"
	"os"
)

// openReplaced is Linux-only: elsewhere a replaced file keeps its mode,
// owner and times, not its extended attributes or ACL, so there is nothing
// to open.
func (r *Root) openReplaced(_ *tempFile, old fs.FileInfo) (*os.File, fs.FileInfo, error) {
	return nil, old, nil
}

// copyXattrs is Linux-only (elsewhere the copy keeps the mode, owner and
// times, not the extended attributes or ACL).
func copyXattrs(*os.File, *tempFile, bool, bool) error { return nil }

// xattr is an extended attribute; Linux-only.
type xattr struct{}

// ownXattrs is Linux-only: there is no copy to undo elsewhere.
func ownXattrs(*tempFile) ([]xattr, error) { return nil, nil }

// restoreXattrs is Linux-only (see ownXattrs).
func restoreXattrs(*tempFile) error { return nil }
