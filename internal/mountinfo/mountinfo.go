// Package mountinfo finds the mount that holds a path in /proc/self/mountinfo
// (proc(5)): its mount point, filesystem type, source and options.
package mountinfo

import (
	"bufio"
	"errors"
	"io"
	"strconv"
	"strings"
)

// ErrNoMount is returned when no mount point is a prefix of the path.
var ErrNoMount = errors.New("mountinfo: no mount holds the path")

// Entry is one line of mountinfo, with the octal escapes of the mount point
// and the source undone.
type Entry struct {
	Device       string   // field 3, "major:minor" of the filesystem
	Root         string   // field 4: the directory of the filesystem mounted here ("/" for all of it; a bind mount shows its source)
	MountPoint   string   // field 5
	FSType       string   // after the " - " separator, e.g. "ext4", "fuse.sshfs", "nfs4"
	Source       string   // the mount source, e.g. "user@host:/export"
	MountOptions []string // per-mount options (field 6), e.g. "rw", "noatime"
	SuperOptions []string // per-superblock options, e.g. "actimeo=3"
}

// Options returns the per-mount options followed by the per-superblock ones.
func (e Entry) Options() []string {
	return append(append([]string(nil), e.MountOptions...), e.SuperOptions...)
}

// find returns the entry in r (mountinfo format) whose mount point is the
// longest prefix of dir; of equal mount points the last one (the top of a
// stack of mounts) wins. dir must be absolute and free of symlinks.
// Malformed lines are skipped.
//
// dev, when not "", is dir's device ("major:minor", from stat(2)): an
// entry of that device is preferred to a longer prefix of another. A mount
// made over a parent of an older mount hides the older one, whose mount
// point is still listed and is the longer prefix, while the path now leads
// into the newer filesystem. When no entry has dev (btrfs subvolumes stat
// with a device of their own) the longest prefix stands.
func find(r io.Reader, dir, dev string) (Entry, error) {
	var best, ofDev Entry
	found, foundDev := false, false
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 64*1024), 1024*1024)
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
		point := Unescape(pf[4])
		if !within(dir, point) {
			continue
		}
		longest := len(point) >= len(best.MountPoint)
		sameDev := dev != "" && pf[2] == dev && len(point) >= len(ofDev.MountPoint)
		if !longest && !sameDev {
			continue
		}
		e := Entry{
			Device:       pf[2],
			Root:         Unescape(pf[3]),
			MountPoint:   point,
			FSType:       qf[0],
			Source:       Unescape(qf[1]),
			MountOptions: strings.Split(pf[5], ","),
			SuperOptions: strings.Split(qf[2], ","),
		}
		if longest {
			best, found = e, true
		}
		if sameDev {
			ofDev, foundDev = e, true
		}
	}
	if foundDev {
		return ofDev, nil
	}
	if found {
		// A line past the buffer ends the scan; what was matched before it stands.
		return best, nil
	}
	if err := s.Err(); err != nil {
		return Entry{}, err
	}
	return Entry{}, ErrNoMount
}

func within(dir, point string) bool {
	return point == "/" || dir == point || strings.HasPrefix(dir, point+"/")
}

// Unescape undoes the octal escapes of mountinfo and /proc/self/mounts
// (\040 for a space, \134 for a backslash); a backslash not followed by three
// octal digits naming a byte (\000 to \377) is kept as is.
func Unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
