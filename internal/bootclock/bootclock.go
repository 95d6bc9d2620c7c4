// Package bootclock reads a clock that keeps counting while the machine is
// suspended. Go's monotonic clock (CLOCK_MONOTONIC on Linux) stops during suspend,
// so a lease measured with it would look valid after a laptop or VM slept past
// the lease's expiry. Lease validity is therefore measured on CLOCK_BOOTTIME where
// the system has it.
package bootclock

import "time"

// Now returns the time elapsed since an arbitrary fixed point, on a clock that
// includes time spent suspended where the platform offers one (CLOCK_BOOTTIME on
// Linux). Only differences between two readings are meaningful.
func Now() time.Duration { return now() }

// Since returns the time elapsed since an earlier reading of Now.
func Since(t time.Duration) time.Duration { return Now() - t }
