package writer

import "golang.org/x/sys/unix"

// fsNameMax returns the longest name (bytes) the filesystem at dir takes, from
// statfs(2); NAME_MAX when it cannot tell.
func fsNameMax(dir string) int {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil || st.Namelen <= 0 {
		return nameMax
	}
	return int(st.Namelen)
}
