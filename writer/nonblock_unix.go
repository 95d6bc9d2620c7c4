//go:build unix

package writer

import "syscall"

// oNonblock opens without blocking on a FIFO. Regular files and directories
// ignore it, and on them it spares os's poller set-up: os switches a
// descriptor it opened without O_NONBLOCK to non-blocking and back when the
// poller refuses it (four fcntl calls per open on Linux), not one opened
// with it.
const oNonblock = syscall.O_NONBLOCK
