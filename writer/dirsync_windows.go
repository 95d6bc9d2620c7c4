//go:build windows

package writer

// syncDir is a no-op on Windows: a directory cannot be opened for fsync
// there; NTFS journals the rename itself (see doc.go for the limits).
func (r *Root) syncDir(string) error { return nil }
