//go:build unix

package coordinator

import "syscall"

// oNonblock opens without blocking on a FIFO (regular files ignore it).
const oNonblock = syscall.O_NONBLOCK

// oNofollow refuses a symlink as the final component.
const oNofollow = syscall.O_NOFOLLOW
