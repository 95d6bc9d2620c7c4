package coordinator

import (
	"strconv"
	"strings"
	"time"
)

// coherentFS lists filesystem types whose page and attribute caches are coherent
// on one host: a rename is seen at once, so the stale-view window is zero.
var coherentFS = map[string]bool{
	"ext2": true, "ext3": true, "ext4": true, "xfs": true, "btrfs": true, "tmpfs": true,
	"overlay": true, "zfs": true, "f2fs": true, "ramfs": true, "apfs": true, "hfs": true,
}

// staleWindowFor derives the stale-view window from a filesystem type and its
// mount options: twice the longest attribute or lookup cache time they allow.
// NFS defaults (acregmax=60, acdirmax=60) apply when the options do not say;
// FUSE filesystems do not show their daemon's cache options, so they are
// unknown (DefaultUnknownStaleWindow).
func staleWindowFor(fstype string, options []string) time.Duration {
	if coherentFS[fstype] {
		return 0
	}
	var longest time.Duration
	known := false
	for _, o := range options {
		k, v, ok := strings.Cut(o, "=")
		if !ok {
			if k == "noac" {
				known = true
			}
			continue
		}
		switch k {
		case "actimeo", "acregmax", "acdirmax", "acregmin", "acdirmin",
			"attr_timeout", "entry_timeout", "negative_timeout", "dcache_timeout", "cache_timeout":
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || f < 0 {
				continue
			}
			known = true
			if d := time.Duration(f * float64(time.Second)); d > longest {
				longest = d
			}
		}
	}
	if strings.HasPrefix(fstype, "nfs") {
		if !known {
			return 2 * 60 * time.Second
		}
		return 2 * longest
	}
	if !known {
		return DefaultUnknownStaleWindow
	}
	return 2 * longest
}
