//go:build darwin

package writer

import (
	"syscall"

	"golang.org/x/sys/unix"
)

func statAtime(st *syscall.Stat_t) (sec, nsec int64) { return st.Atimespec.Sec, st.Atimespec.Nsec }

func statCtime(st *syscall.Stat_t) int64 { return st.Ctimespec.Sec*1e9 + st.Ctimespec.Nsec }

// setFdTimes sets fd's access and modification times (futimes: to the
// microsecond).
func setFdTimes(fd int, atime, mtime int64) error {
	tv := []unix.Timeval{unix.NsecToTimeval(atime), unix.NsecToTimeval(mtime)}
	return unix.Futimes(fd, tv)
}
