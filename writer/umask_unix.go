//go:build unix

package writer

import "syscall"

// umaskSyscall reads the umask with umask(2), which can only be read by
// setting it: it is set back at once.
func umaskSyscall() uint32 {
	m := syscall.Umask(0)
	syscall.Umask(m)
	return uint32(m)
}
