//go:build windows

package coordinator

import "os"

// syncDir is a no-op on Windows: directories cannot be opened for fsync there;
// NTFS journals the metadata of a rename.
func syncDir(r *os.Root, dir string) error { return nil }
