//go:build !unix

package writer

// umaskSyscall: there is no umask on Windows.
func umaskSyscall() uint32 { return 0 }
