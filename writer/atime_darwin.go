//go:build darwin

package writer

import "syscall"

func statAtime(st *syscall.Stat_t) (sec, nsec int64) { return st.Atimespec.Sec, st.Atimespec.Nsec }

func statCtime(st *syscall.Stat_t) int64 { return st.Ctimespec.Sec*1e9 + st.Ctimespec.Nsec }
