//go:build linux

package writer

import (
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

func statAtime(st *syscall.Stat_t) (sec, nsec int64) { return st.Atim.Sec, st.Atim.Nsec }

func statCtime(st *syscall.Stat_t) int64 { return st.Ctim.Sec*1e9 + st.Ctim.Nsec }

// setFdTimes sets fd's access and modification times to the nanosecond:
// futimens(3), which is utimensat(2) on the descriptor with a NULL path
// (futimes would round them to microseconds).
func setFdTimes(fd int, atime, mtime int64) error {
	ts := [2]unix.Timespec{unix.NsecToTimespec(atime), unix.NsecToTimespec(mtime)}
	_, _, e := unix.Syscall6(unix.SYS_UTIMENSAT, uintptr(fd), 0, uintptr(unsafe.Pointer(&ts[0])), 0, 0, 0)
	if e != 0 {
		return e
	}
	return nil
}
