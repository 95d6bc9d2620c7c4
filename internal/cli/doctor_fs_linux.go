//go:build linux

package cli

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
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
	if abs, err := filepath.EvalSymlinks(dir); err == nil {
		dir = abs
	}
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return fi
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	s.Buffer(make([]byte, 64*1024), 1024*1024)
	best := ""
	for s.Scan() {
		// id parent major:minor root mountpoint mountopts [optional...] - fstype source superopts
		pre, post, ok := strings.Cut(s.Text(), " - ")
		if !ok {
			continue
		}
		pf, qf := strings.Fields(pre), strings.Fields(post)
		if len(pf) < 6 || len(qf) < 3 {
			continue
		}
		point := unescapeMountinfo(pf[4])
		if !under(dir, point) || len(point) < len(best) {
			continue
		}
		best = point
		fi.MountPoint, fi.MountType, fi.Source = point, qf[0], unescapeMountinfo(qf[1])
		fi.Options = append(strings.Split(pf[5], ","), strings.Split(qf[2], ",")...)
	}
	if fi.MountType != "" && (fi.Type == "" || fi.Type == "fuse" || fi.Type == "nfs") {
		fi.Type = fi.MountType // fuse.sshfs, nfs4, ...
	}
	return fi
}

func under(dir, point string) bool {
	return point == "/" || dir == point || strings.HasPrefix(dir, point+"/")
}

// unescapeMountinfo undoes mountinfo's octal escapes (\040 for a space).
func unescapeMountinfo(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			v, ok := byte(0), true
			for _, c := range []byte(s[i+1 : i+4]) {
				if c < '0' || c > '7' {
					ok = false
					break
				}
				v = v*8 + c - '0'
			}
			if ok {
				b.WriteByte(v)
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// renameNoReplace renames old to new in the directory dirfd unless new exists.
func renameNoReplace(dirfd uintptr, old, new string) error {
	return unix.Renameat2(int(dirfd), old, int(dirfd), new, unix.RENAME_NOREPLACE)
}
