//go:build unix

package cli

import "golang.org/x/sys/unix"

// closedAtStart says whether descriptor fd is the one the Go runtime opened
// on a descriptor closed at start: /dev/null opened read-write. A shell's
// `</dev/null` opens it read-only and `>/dev/null` write-only, so an empty
// input or a discarded output given explicitly is not taken for a closed
// one (`<>/dev/null` is).
func closedAtStart(fd int) bool {
	var st, null unix.Stat_t
	if unix.Fstat(fd, &st) != nil || unix.Stat("/dev/null", &null) != nil {
		return false
	}
	if st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != null.Rdev {
		return false
	}
	fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	return err == nil && fl&unix.O_ACCMODE == unix.O_RDWR
}
