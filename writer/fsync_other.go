//go:build !darwin

package writer

import "os"

// fsyncFile flushes f to stable storage with fsync(2) (FlushFileBuffers on
// Windows).
func fsyncFile(f *os.File) error { return f.Sync() }
