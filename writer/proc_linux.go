//go:build linux

package writer

import (
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/sharedwrite/sharedwrite/internal/procstat"
)

var (
	startMu   sync.Mutex
	startPart string
)

// procStart returns this process's start time as used in temp names: the
// starttime field (22) of /proc/self/stat, in clock ticks since boot. With the
// pid it identifies the process even after the pid is reused. It is read once;
// a read that failed (out of descriptors, say) gives "0" for this temp and is
// tried again for the next, not kept: a temp named with "0" looks like a dead
// process's to a sweeper that reads the real start time.
func procStart() string {
	startMu.Lock()
	defer startMu.Unlock()
	if startPart == "" {
		startPart = startOf(os.Getpid())
		if startPart == "" {
			return "0"
		}
	}
	return startPart
}

// startOf returns the start time of process pid as procStart formats it, or
// "" when the process does not exist (or /proc is unreadable). A temp whose
// pid is alive with another start time belongs to a dead process.
func startOf(pid int) string {
	start, _ := procstat.Of(pid)
	return start
}

// umask returns the process umask, read from /proc/self/status (Linux 4.7+;
// reading it this way does not change it, unlike umask(2), which would leave
// another thread creating a file meanwhile with umask 0). It is read at each
// call: the process may change it at any time.
func umask() uint32 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return umaskSyscall()
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "Umask:"); ok {
			if n, err := strconv.ParseUint(strings.TrimSpace(v), 8, 32); err == nil {
				return uint32(n)
			}
		}
	}
	return umaskSyscall()
}
