//go:build !linux

package coordinator

import "time"

// mountStaleWindow cannot read mount options on this platform: a local volume
// is assumed unless the caller sets WithStaleWindow.
func mountStaleWindow(dir string) time.Duration { return 0 }
