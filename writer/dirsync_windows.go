//go:build windows

package writer

import (
	"errors"
	"io/fs"
	"os"
)

// syncDir is a no-op on Windows: a directory cannot be opened for fsync
// there; NTFS journals the rename itself (see doc.go for the limits).
func (r *Root) syncDir(string) error { return nil }

// syncOpened flushes the file f, opened read-only, through a handle reopen
// opens for writing: FlushFileBuffers refuses a read-only handle
// (ERROR_ACCESS_DENIED). A file that cannot be opened for writing (the
// read-only attribute, an ACL) is left unflushed: NTFS journals the rename,
// not the data, so a crash may still lose what was not yet written back.
func syncOpened(_ *os.File, reopen func() (*os.File, error)) error {
	w, err := reopen()
	if errors.Is(err, fs.ErrPermission) {
		return nil
	}
	if err != nil {
		return err
	}
	err = w.Sync()
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	return err
}
