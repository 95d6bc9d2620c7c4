//go:build linux

package bootclock

import (
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

func now() time.Duration {
	// clock_gettime returns at once, so it is made as a raw system call:
	// unix.ClockGettime (a plain one) adds the scheduler's bookkeeping for
	// a call that may block, a quarter of the cost of a reading. (Go's own
	// clocks use the vDSO, which a Go program cannot call for
	// CLOCK_BOOTTIME.)
	var ts unix.Timespec
	if _, _, errno := unix.RawSyscall(unix.SYS_CLOCK_GETTIME, unix.CLOCK_BOOTTIME, uintptr(unsafe.Pointer(&ts)), 0); errno != 0 {
		// CLOCK_BOOTTIME exists since Linux 2.6.39; failing here means a broken
		// seccomp filter. Fall back to the monotonic clock rather than panic.
		return monotonic()
	}
	return time.Duration(ts.Nano())
}
