//go:build linux

package cli

import (
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/sharedwrite/sharedwrite/internal/mountinfo"
)

// fsMagic names the statfs f_type values doctor knows.
var fsMagic = map[int64]string{
	unix.EXT4_SUPER_MAGIC:      "ext4",
	unix.XFS_SUPER_MAGIC:       "xfs",
	unix.BTRFS_SUPER_MAGIC:     "btrfs",
	unix.TMPFS_MAGIC:           "tmpfs",
	unix.OVERLAYFS_SUPER_MAGIC: "overlay",
	unix.NFS_SUPER_MAGIC:       "nfs",
	unix.FUSE_SUPER_MAGIC:      "fuse",
	unix.CIFS_SUPER_MAGIC:      "cifs",
	unix.SMB2_SUPER_MAGIC:      "smb3",
	unix.RAMFS_MAGIC:           "ramfs",
	0x2fc12fc1:                 "zfs",
}

// probeFS reads the filesystem type with statfs(2) and the mount that holds dir
// from /proc/self/mountinfo (the longest mount point that is a prefix of dir).
func probeFS(dir string) fsInfo {
	var fi fsInfo
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err == nil {
		fi.Magic = fmt.Sprintf("0x%x", uint64(st.Type))
		fi.Type = fsMagic[int64(st.Type)]
	}
	m, err := mountinfo.Lookup(dir)
	if err != nil {
		return fi
	}
	fi.MountPoint, fi.MountType, fi.Source = m.MountPoint, m.FSType, m.Source
	fi.Options = m.Options()
	if fi.MountType != "" && (fi.Type == "" || fi.Type == "fuse" || fi.Type == "nfs") {
		fi.Type = fi.MountType // fuse.sshfs, nfs4, ...
	}
	return fi
}

// renameNoReplace renames old to new in the directory dirfd unless new exists.
func renameNoReplace(dirfd uintptr, old, new string) error {
	return unix.Renameat2(int(dirfd), old, int(dirfd), new, unix.RENAME_NOREPLACE)
}

// kernelID identifies the running kernel: its boot id, which every process on
// the host reads alike, in containers too (it is in no namespace), and which a
// reboot or another host changes. "" when it cannot be read.
func kernelID() string {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}
