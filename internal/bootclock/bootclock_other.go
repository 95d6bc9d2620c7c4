//go:build !linux

package bootclock

import "time"

// Without CLOCK_BOOTTIME the monotonic clock is used; whether it counts time
// spent asleep depends on the platform (documented in the locking package).
func now() time.Duration { return monotonic() }
