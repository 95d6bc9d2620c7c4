//go:build !darwin && !linux

package durable

import "os"

// Sync flushes f to stable storage with fsync(2) (FlushFileBuffers on
// Windows).
func Sync(f *os.File) error { return f.Sync() }

// SyncData is Sync here.
func SyncData(f *os.File) error { return f.Sync() }
