//go:build linux

package coordinator

import (
	"time"

	"github.com/sharedwrite/sharedwrite/internal/mountinfo"
)

// mountStaleWindow finds the mount that holds dir in /proc/self/mountinfo (the
// longest mount point that is a prefix of dir) and derives the window from its
// type and options.
func mountStaleWindow(dir string) time.Duration {
	m, err := mountinfo.Lookup(dir)
	if err != nil {
		return DefaultUnknownStaleWindow
	}
	return staleWindowFor(m.FSType, m.Options())
}
