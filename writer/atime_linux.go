//go:build linux

package writer

import "syscall"

func statAtime(st *syscall.Stat_t) (sec, nsec int64) { return st.Atim.Sec, st.Atim.Nsec }
