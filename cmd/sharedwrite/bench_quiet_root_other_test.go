//go:build unix && !linux

package main

import "testing"

// quietRoot returns an empty directory for a test that bounds how long a
// command waits for Redis. Here it is on the temp directory's disk (no tmpfs
// without a platform-specific mount): its fsyncs count too, so on a loaded
// machine the bound may be passed without a longer wait for Redis.
func quietRoot(t *testing.T) string {
	t.Helper()
	return t.TempDir()
}
