//go:build !linux

package durable

import "os"

// SyncData is os.File.Sync here: fsync(2), FlushFileBuffers on Windows, and
// on macOS fcntl F_FULLFSYNC, which asks the drive to empty its cache too.
func SyncData(f *os.File) error { return f.Sync() }
