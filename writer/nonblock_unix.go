//go:build unix

package writer

import "syscall"

// oNonblock opens without blocking on a FIFO.
const oNonblock = syscall.O_NONBLOCK
