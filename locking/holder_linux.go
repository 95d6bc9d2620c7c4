//go:build linux

package locking

import (
	"bufio"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// lockHolder finds a lock on the file in /proc/locks, matching device and
// inode: "1: FLOCK  ADVISORY  WRITE 4242 08:01:1234 0 EOF". Waiters ("->")
// are skipped; OFD locks report pid -1 (unknown).
func lockHolder(fi fs.FileInfo) (int, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	f, err := os.Open("/proc/locks")
	if err != nil {
		return 0, false
	}
	defer f.Close()
	maj, min := unix.Major(uint64(st.Dev)), unix.Minor(uint64(st.Dev))
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) < 6 || fields[1] == "->" {
			continue
		}
		pid, err := strconv.Atoi(fields[4])
		if err != nil || pid <= 0 {
			continue
		}
		dev := strings.Split(fields[5], ":")
		if len(dev) != 3 {
			continue
		}
		ma, err1 := strconv.ParseUint(dev[0], 16, 32)
		mi, err2 := strconv.ParseUint(dev[1], 16, 32)
		ino, err3 := strconv.ParseUint(dev[2], 10, 64)
		if err1 != nil || err2 != nil || err3 != nil {
			continue
		}
		if uint32(ma) == maj && uint32(mi) == min && ino == st.Ino {
			return pid, true
		}
	}
	return 0, false
}
