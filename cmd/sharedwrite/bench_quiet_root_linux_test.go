//go:build linux

package main

import (
	"testing"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
)

// quietRoot returns an empty directory whose calls do not wait for a disk
// (a tmpfs of its own, unmounted on cleanup): a test that bounds how long a
// command waits for Redis measures that wait, not the fsyncs of a disk that
// the rest of the machine keeps busy.
func quietRoot(t *testing.T) string {
	t.Helper()
	return testrig.Tmpfs(t, "16m")
}
