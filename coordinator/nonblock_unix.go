//go:build unix

package coordinator

import "syscall"

// oNonblock opens without blocking on a FIFO (regular files ignore it).
const oNonblock = syscall.O_NONBLOCK
