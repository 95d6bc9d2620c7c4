//go:build linux

package writer

import "syscall"

func statAtime(st *syscall.Stat_t) (sec, nsec int64) { return st.Atim.Sec, st.Atim.Nsec }

func statCtime(st *syscall.Stat_t) int64 { return st.Ctim.Sec*1e9 + st.Ctim.Nsec }
