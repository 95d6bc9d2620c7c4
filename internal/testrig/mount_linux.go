//go:build linux

package testrig

import (
	"fmt"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// Tmpfs mounts a tmpfs of the given size (e.g. "64k", "16m") on a new temp
// directory and unmounts it on cleanup. It is a second device: a rename into or
// out of it fails with EXDEV, and a small one fills up (ENOSPC).
func Tmpfs(t testing.TB, size string) string {
	t.Helper()
	NeedRoot(t)
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size="+size+",mode=0755"); err != nil {
		Unavailable(t, fmt.Sprintf("mount tmpfs on %s: %v", dir, err))
	}
	t.Cleanup(func() { Unmount(t, dir) })
	return dir
}

// BindMount bind-mounts src (a directory or a file) onto dst, which must exist,
// and unmounts it on cleanup. A rename between two bind-mounted views of one
// filesystem fails with EXDEV; a rename onto a bind-mounted file fails with EBUSY.
func BindMount(t testing.TB, src, dst string) {
	t.Helper()
	NeedRoot(t)
	if err := unix.Mount(src, dst, "", unix.MS_BIND, ""); err != nil {
		Unavailable(t, fmt.Sprintf("bind mount %s on %s: %v", src, dst, err))
	}
	t.Cleanup(func() { Unmount(t, dst) })
}

// Unmount unmounts dir, falling back to a lazy unmount when it is busy.
func Unmount(t testing.TB, dir string) {
	t.Helper()
	if err := unix.Unmount(dir, 0); err != nil && err != unix.EINVAL {
		if err2 := unix.Unmount(dir, unix.MNT_DETACH); err2 != nil && err2 != unix.EINVAL {
			t.Errorf("unmount %s: %v (lazy: %v)", dir, err, err2)
		}
	}
	_ = os.Remove(dir + "/.keep")
}

// ReadOnlyBind bind-mounts src onto dst read-only (every write through dst
// fails with EROFS) and unmounts it on cleanup.
func ReadOnlyBind(t testing.TB, src, dst string) {
	t.Helper()
	BindMount(t, src, dst)
	if err := unix.Mount("", dst, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY, ""); err != nil {
		Unavailable(t, fmt.Sprintf("remount %s read-only: %v", dst, err))
	}
}
