package cli

import (
	"os"
	"strconv"
	"strings"
)

// othersInGroup reports whether a process other than this one is in process
// group pgid and has not exited, from /proc; known is false when /proc
// cannot tell.
func othersInGroup(pgid int) (others, known bool) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return false, false
	}
	self := os.Getpid()
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue // gone meanwhile
		}
		// After "(comm)": state, ppid, pgrp.
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) >= 3 && f[0] != "Z" && f[2] == strconv.Itoa(pgid) {
			return true, true
		}
	}
	return false, true
}
