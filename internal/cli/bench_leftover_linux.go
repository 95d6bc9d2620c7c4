//go:build linux

package cli

import (
	"os"
	"strings"

	"github.com/sharedwrite/sharedwrite/internal/procstat"
)

// procSpace names the pid space of this process: the boot (a pid of an
// earlier boot says nothing of this one) and the pid namespace (a container
// with the same host name has other processes under the same pids). "" when
// /proc does not tell.
func procSpace() string {
	boot, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	ns, err := os.Readlink("/proc/self/ns/pid")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(boot)) + "/" + ns
}

// procStart returns the start time of process pid: the starttime field (22)
// of /proc/<pid>/stat, in clock ticks since boot; "" when it cannot be read.
func procStart(pid int) string {
	s, _ := procState(pid)
	return s
}

// procState returns the start time of process pid (see procStart) and
// whether it is a zombie (it has ended; its parent has not reaped it yet).
func procState(pid int) (start string, zombie bool) { return procstat.Of(pid) }
