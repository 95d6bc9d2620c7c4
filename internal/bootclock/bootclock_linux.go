//go:build linux

package bootclock

import (
	"time"

	"golang.org/x/sys/unix"
)

func now() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts); err != nil {
		// CLOCK_BOOTTIME exists since Linux 2.6.39; failing here means a broken
		// seccomp filter. Fall back to the monotonic clock rather than panic.
		return monotonic()
	}
	return time.Duration(ts.Nano())
}
