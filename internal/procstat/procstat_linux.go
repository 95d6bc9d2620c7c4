//go:build linux

package procstat

import (
	"os"
	"strconv"
	"strings"
)

// Of returns the start time of process pid, the starttime field (22) of
// /proc/<pid>/stat in clock ticks since boot, and whether it is a zombie (it
// has ended; its parent has not reaped it yet). start is "" when the process
// does not exist or /proc cannot be read.
func Of(pid int) (start string, zombie bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return "", false
	}
	// The command name (field 2) is in parentheses and may hold spaces or
	// parentheses: the fields are counted after the last ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return "", false
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 20 {
		return "", false
	}
	return f[19], f[0] == "Z" || f[0] == "X" // f[0] is field 3, the state
}
