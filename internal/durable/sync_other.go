//go:build !linux

package durable

import "os"

// Sync flushes f to stable storage: fsync(2), FlushFileBuffers on Windows,
// and on macOS fcntl F_FULLFSYNC (with fsync where the filesystem refuses
// it), which asks the drive to empty its cache too: os.File.Sync does so.
func Sync(f *os.File) error { return f.Sync() }

// SyncData is Sync here.
func SyncData(f *os.File) error { return f.Sync() }
